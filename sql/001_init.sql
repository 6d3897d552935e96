-- 001_init.sql: the whole schema of the design contract.
--
-- Applied by `st-admin migrate`, which runs each statement below as a
-- prepared statement and records the file in schema_migrations. Statements
-- are separated by a semicolon at the end of a line; no semicolon may appear
-- elsewhere. All tables: InnoDB, utf8mb4, times in UTC with milliseconds.

CREATE TABLE schema_migrations (
  version     INT UNSIGNED NOT NULL PRIMARY KEY,
  name        VARCHAR(255) NOT NULL,
  applied_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE accounts (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name        VARCHAR(64)  NOT NULL,
  disabled    TINYINT(1)   NOT NULL DEFAULT 0,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_accounts_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- secret_enc: the API secret sealed with AES-256-GCM (see src/lib/seal.h);
-- never the secret in clear.
CREATE TABLE api_keys (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id  BIGINT UNSIGNED NOT NULL,
  api_key     CHAR(32)     NOT NULL,
  secret_enc  VARBINARY(255) NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  revoked_at  DATETIME(3)  NULL,
  UNIQUE KEY uq_api_keys_key (api_key),
  KEY ix_api_keys_account (account_id),
  CONSTRAINT fk_api_keys_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- GPU hosts, each with its own Docker Engine.
CREATE TABLE hosts (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name              VARCHAR(64)   NOT NULL,
  endpoint          VARCHAR(1024) NOT NULL,
  tls_ca            VARCHAR(1024) NULL,
  tls_cert          VARCHAR(1024) NULL,
  tls_key           VARCHAR(1024) NULL,
  cpus              DECIMAL(10,3) NOT NULL,
  gpus              INT UNSIGNED  NOT NULL DEFAULT 0,
  ram_gb            DECIMAL(12,3) NOT NULL,
  gpu_runtime       ENUM('nvidia','env') NOT NULL DEFAULT 'nvidia',
  state             ENUM('active','draining','disabled') NOT NULL DEFAULT 'active',
  last_seen_at      DATETIME(3)   NULL,
  unreachable_since DATETIME(3)   NULL,
  last_error        VARCHAR(1024) NULL,
  created_at        DATETIME(3)   NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_hosts_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A data set, or a pilot sub-set of one (parent_id set, name NULL).
CREATE TABLE datasets (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uuid        CHAR(36)     NOT NULL,
  account_id  BIGINT UNSIGNED NOT NULL,
  parent_id   BIGINT UNSIGNED NULL,
  name        VARCHAR(128) NULL,
  pilot_index INT UNSIGNED NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_datasets_uuid (uuid),
  UNIQUE KEY uq_datasets_account_name (account_id, name),
  KEY ix_datasets_parent (parent_id, pilot_index),
  CONSTRAINT fk_datasets_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT fk_datasets_parent FOREIGN KEY (parent_id) REFERENCES datasets (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Content-addressed shard files: shards/ab/cd/<sha256>.zip in the blob store.
CREATE TABLE shards (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sha256      CHAR(64)     NOT NULL,
  size        BIGINT UNSIGNED NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_shards_sha256 (sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Membership of a shard in a set; a shard of a set is also a member of
-- exactly one of its pilots.
CREATE TABLE dataset_shards (
  dataset_id  BIGINT UNSIGNED NOT NULL,
  shard_id    BIGINT UNSIGNED NOT NULL,
  added_at    DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  PRIMARY KEY (dataset_id, shard_id),
  KEY ix_dataset_shards_shard (shard_id),
  CONSTRAINT fk_dataset_shards_dataset FOREIGN KEY (dataset_id) REFERENCES datasets (id) ON DELETE CASCADE,
  CONSTRAINT fk_dataset_shards_shard FOREIGN KEY (shard_id) REFERENCES shards (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE batches (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uuid        CHAR(36)     NOT NULL,
  account_id  BIGINT UNSIGNED NOT NULL,
  mode        ENUM('pilot','production') NOT NULL,
  cpu         DECIMAL(10,3) NOT NULL,
  gpu         INT UNSIGNED  NOT NULL,
  ram_gb      DECIMAL(12,3) NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_batches_uuid (uuid),
  KEY ix_batches_account (account_id, id),
  CONSTRAINT fk_batches_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A job: one container run. Requisitions are copied from the batch so the
-- dispatcher reads one row. cancel_requested marks a placed job whose
-- container the dispatcher must stop.
CREATE TABLE jobs (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uuid               CHAR(36)      NOT NULL,
  batch_id           BIGINT UNSIGNED NOT NULL,
  account_id         BIGINT UNSIGNED NOT NULL,
  idx                INT UNSIGNED  NOT NULL,
  dataset_id         BIGINT UNSIGNED NULL,
  mode               ENUM('pilot','production') NOT NULL,
  image              VARCHAR(255)  NOT NULL,
  image_tag          VARCHAR(128)  NOT NULL,
  command            TEXT          NOT NULL,
  cpu                DECIMAL(10,3) NOT NULL,
  gpu                INT UNSIGNED  NOT NULL,
  ram_gb             DECIMAL(12,3) NOT NULL,
  status             ENUM('QUEUED','PENDING','PROCESSING','PROCESSED','UPLOADING','COMPLETED','ERRORED','CANCELED') NOT NULL DEFAULT 'QUEUED',
  cancel_requested   TINYINT(1)    NOT NULL DEFAULT 0,
  pending_reason     VARCHAR(32)   NULL DEFAULT 'not_yet_considered',
  host_id            BIGINT UNSIGNED NULL,
  gpu_devices        VARCHAR(255)  NULL,
  container_id       VARCHAR(128)  NULL,
  requeues           INT UNSIGNED  NOT NULL DEFAULT 0,
  result             MEDIUMTEXT    NULL,
  error              VARCHAR(2048) NULL,
  exit_code          INT           NULL,
  oom_killed         TINYINT(1)    NOT NULL DEFAULT 0,
  model_sha256       CHAR(64)      NULL,
  model_size         BIGINT UNSIGNED NULL,
  log_size           BIGINT UNSIGNED NULL,
  processing_time_ms BIGINT UNSIGNED NULL,
  created_at         DATETIME(3)   NOT NULL DEFAULT UTC_TIMESTAMP(3),
  placed_at          DATETIME(3)   NULL,
  started_at         DATETIME(3)   NULL,
  finished_at        DATETIME(3)   NULL,
  updated_at         DATETIME(3)   NOT NULL DEFAULT UTC_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uq_jobs_uuid (uuid),
  UNIQUE KEY uq_jobs_batch_idx (batch_id, idx),
  KEY ix_jobs_account (account_id, id),
  KEY ix_jobs_account_status (account_id, status, id),
  KEY ix_jobs_queue (status, mode, id),
  KEY ix_jobs_host (host_id, status),
  KEY ix_jobs_dataset (dataset_id, status),
  CONSTRAINT fk_jobs_batch FOREIGN KEY (batch_id) REFERENCES batches (id),
  CONSTRAINT fk_jobs_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT fk_jobs_dataset FOREIGN KEY (dataset_id) REFERENCES datasets (id) ON DELETE SET NULL,
  CONSTRAINT fk_jobs_host FOREIGN KEY (host_id) REFERENCES hosts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
