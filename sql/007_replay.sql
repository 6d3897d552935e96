-- Issue 13 (part): a timestamped signed write is accepted once. One row
-- per remembered signature: id is the SHA-256 of its 64 bytes (never the
-- signature itself), expires_at the Unix second its timestamp leaves the
-- window (X-singularity-timestamp + [auth] timestamp_window). A second
-- insert of the same id is the replay (401 replayed); `st-admin gc`
-- deletes the rows past expires_at. See src/lib/replay.h.
CREATE TABLE replay_signatures (
  id          BINARY(32)      NOT NULL PRIMARY KEY,
  expires_at  BIGINT UNSIGNED NOT NULL,
  KEY ix_replay_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
