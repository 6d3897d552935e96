-- Issue 12: the dispatcher at fleet scale (DESIGN "The dispatcher").
--
-- jobs, for the current attempt:
--   log_ts_ns, log_ts_skip: where the log kept so far ends in the engine's
--     log stream: the engine timestamp (Unix ns) of the last message kept,
--     and how many payload bytes of messages with exactly that timestamp are
--     kept; a follow stream resumed after a restart starts there, so no byte
--     is kept twice or lost (log_size counts every byte the attempt wrote).
--   pull_started_at, pull_bytes, pull_total: the image pull the job waits
--     for (pending_reason 'pulling_image'): when the attempt began waiting,
--     so the time limit spans passes, and the progress the engine reports.
--   stop_sent_at: when SIGTERM went to the attempt's container (cancel or
--     time limit), so SIGKILL follows stop_grace later even across passes.
--   cache_volume: the data cache volume the attempt's container mounts.
-- job_attempts.log_size: the log kept of an earlier attempt.
ALTER TABLE jobs
  ADD COLUMN log_ts_ns BIGINT NULL,
  ADD COLUMN log_ts_skip BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN pull_started_at DATETIME(3) NULL,
  ADD COLUMN pull_bytes BIGINT UNSIGNED NULL,
  ADD COLUMN pull_total BIGINT UNSIGNED NULL,
  ADD COLUMN stop_sent_at DATETIME(3) NULL,
  ADD COLUMN cache_volume VARCHAR(128) NULL;

ALTER TABLE job_attempts
  ADD COLUMN log_size BIGINT UNSIGNED NULL;

-- The data cache of each host: one Docker volume per (root data set,
-- version), version being the SHA-256 of the set's shard list with each
-- shard's pilot. The volume holds every shard once (s/<sha256>.zip) and one
-- directory of hard links per view ('all' for the whole set, 'p<index>' for
-- a pilot), each with its manifest.json; a job mounts its view read-only at
-- /data. dataset_id turns NULL when the set is deleted (the dispatcher then
-- removes the volume). bytes: the shard bytes in the volume.
CREATE TABLE host_cache (
  host_id       BIGINT UNSIGNED NOT NULL,
  volume        VARCHAR(128)    NOT NULL,
  dataset_id    BIGINT UNSIGNED NULL,
  version       CHAR(64)        NOT NULL,
  mountpoint    VARCHAR(1024)   NULL,
  bytes         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at    DATETIME(3)     NOT NULL DEFAULT UTC_TIMESTAMP(3),
  last_used_at  DATETIME(3)     NOT NULL DEFAULT UTC_TIMESTAMP(3),
  PRIMARY KEY (host_id, volume),
  KEY ix_host_cache_dataset (dataset_id),
  CONSTRAINT fk_host_cache_host FOREIGN KEY (host_id) REFERENCES hosts (id) ON DELETE CASCADE,
  CONSTRAINT fk_host_cache_dataset FOREIGN KEY (dataset_id) REFERENCES datasets (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A view of a cache volume exists only once it was filled whole: a row here
-- is what makes it usable (a fill cut short leaves no row and is redone).
CREATE TABLE host_cache_views (
  host_id   BIGINT UNSIGNED NOT NULL,
  volume    VARCHAR(128)    NOT NULL,
  view      VARCHAR(16)     NOT NULL,
  ready_at  DATETIME(3)     NOT NULL DEFAULT UTC_TIMESTAMP(3),
  PRIMARY KEY (host_id, volume, view),
  CONSTRAINT fk_host_cache_views FOREIGN KEY (host_id, volume) REFERENCES host_cache (host_id, volume) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Private registry credentials of an account (POST /account/registries):
-- password_enc is the password sealed like API secrets (src/lib/seal.h),
-- bound to "registry\n<account id>\n<server>", never the password in clear.
CREATE TABLE registry_credentials (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id    BIGINT UNSIGNED NOT NULL,
  server        VARCHAR(255)    NOT NULL,
  username      VARCHAR(255)    NOT NULL,
  password_enc  VARBINARY(1100) NOT NULL,
  created_at    DATETIME(3)     NOT NULL DEFAULT UTC_TIMESTAMP(3),
  updated_at    DATETIME(3)     NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_registry_account_server (account_id, server),
  KEY ix_registry_server (server),
  CONSTRAINT fk_registry_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
