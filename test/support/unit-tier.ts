/**
 * Set up before every spec of the fast tier (the `unit` project in jest.config.js): marks the
 * process so that test/support/database.ts refuses to hand out a database there.
 */
process.env.CRN_TEST_TIER = 'unit';
