import { CreateConversationTables1767225600000 } from './1767225600000-create-conversation-tables.js';
import { CreateDurableRunTables1767830400000 } from './1767830400000-create-durable-run-tables.js';
import { EventLogBatches1768435200000 } from './1768435200000-event-log-batches.js';
import { ThreadDeletionClearsCheckpoints1768521600000 } from './1768521600000-thread-deletion-clears-checkpoints.js';
// Thread lists, archive and replays of v2 (issue 14).
import { ThreadArchive1769040000000 } from './1769040000000-thread-archive.js';
import { RunInputs1769126400000 } from './1769126400000-run-inputs.js';
// API keys (issue 12, identity).
import { CreateApiKeys1769212800000 } from './1769212800000-create-api-keys.js';
// Runs of deltas stored as one element (issue 15, performance).
import { CompactDeltaRuns1769299200000 } from './1769299200000-compact-delta-runs.js';

/**
 * Every migration, oldest first. Listed explicitly: a glob finds nothing under Jest, and a new
 * migration must be added here to run at boot.
 */
export const conversationMigrations = [
  CreateConversationTables1767225600000,
  CreateDurableRunTables1767830400000,
  EventLogBatches1768435200000,
  ThreadDeletionClearsCheckpoints1768521600000,
  ThreadArchive1769040000000,
  RunInputs1769126400000,
  CreateApiKeys1769212800000,
  CompactDeltaRuns1769299200000,
];
