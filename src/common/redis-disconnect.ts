/**
 * ioredis's `disconnectTimeout` for the runtime's Redis clients: how long `disconnect()` waits for
 * the socket to close before destroying it. Its timer is only cleared by a 'close' still to come;
 * after a failed connection attempt (Redis down) the socket has closed already, so the timer runs
 * to its end and keeps a stopping process alive that long (ioredis's default: 2 s). A healthy
 * connection closes well within this.
 */
export const REDIS_DISCONNECT_TIMEOUT_MS = 100;
