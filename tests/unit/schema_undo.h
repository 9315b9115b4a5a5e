/* schema_undo.h -- SQL that takes a store made by this version back to
 * an older schema, for the tests of the migrations: a test drops what the
 * later versions added, then sets the older PRAGMA user_version. */
#ifndef LEADROUTER_TEST_SCHEMA_UNDO_H
#define LEADROUTER_TEST_SCHEMA_UNDO_H

/* the version a store migrates to (sqlite.c SCHEMA_VERSION) */
#define SCHEMA_NOW 22
#define SCHEMA_NOW_STR "22"

/* what version 22 added: the mark of a catch-up's expired offers */
#define UNDO_SCHEMA_22 "DELETE FROM engine_marks WHERE name = 'catch_up_answer_from'; "

/* what version 21 added: the marks of a catch-up's order and of agents
 * kept for their return */
#define UNDO_SCHEMA_21 UNDO_SCHEMA_22 \
    "DELETE FROM engine_marks WHERE name IN ('catch_up_order_from', 'agents_kept_from'); "

/* what version 20 added: the blocks' ranges of received_at */
#define UNDO_SCHEMA_20 UNDO_SCHEMA_21 "DROP TABLE lead_time_blocks; "

/* what version 19 added: a mark for every channel with a delivery (the
 * dispatcher's own marks go too: an older store may have none), and the
 * index of queued deliveries by status and id */
#define UNDO_SCHEMA_19 UNDO_SCHEMA_20 "DELETE FROM outbox_marks; DROP INDEX deliveries_queued; "

/* what version 18 added: the index of dead and cancelled deliveries */
#define UNDO_SCHEMA_18 UNDO_SCHEMA_19 "DROP INDEX deliveries_stopped; "

/* what version 17 added: the mark of declines of assigned leads as answers */
#define UNDO_SCHEMA_17 UNDO_SCHEMA_18 "DELETE FROM engine_marks WHERE name = 'decline_answer_from'; "

/* what version 16 added: the mark of the arrival order of config changes */
#define UNDO_SCHEMA_16 UNDO_SCHEMA_17 "DELETE FROM engine_marks WHERE name = 'reroute_order_from'; "

/* what version 15 added: the marks of six engine behaviours */
#define UNDO_SCHEMA_15 UNDO_SCHEMA_16 \
    "DELETE FROM engine_marks WHERE name IN ('pull_order_from', 'no_answer_from', 'owner_index_from', " \
    "'timer_order_from', 'mode_change_from', 'zone_offers_from'); "

/* what version 14 added to the idempotency keys: their time (and what
 * the later versions added) */
#define UNDO_SCHEMA_14 UNDO_SCHEMA_15 "DROP INDEX idem_created; ALTER TABLE idem DROP COLUMN created; "

#endif
