/* schema_undo.h -- SQL that takes a store made by this version back to
 * an older schema, for the tests of the migrations: a test drops what the
 * later versions added, then sets the older PRAGMA user_version. */
#ifndef LEADROUTER_TEST_SCHEMA_UNDO_H
#define LEADROUTER_TEST_SCHEMA_UNDO_H

/* what version 14 added to the idempotency keys: their time */
#define UNDO_SCHEMA_14 "DROP INDEX idem_created; ALTER TABLE idem DROP COLUMN created; "

#endif
