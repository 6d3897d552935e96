-- Issue 8 (part): idempotent POSTs. One row per (account, Idempotency-Key):
-- the SHA-256 of the first request that used the key (method, request URI
-- as signed, body), and, once its handler answered, that answer (status,
-- the headers worth replaying, body). 'pending' while the first request is
-- being handled. Rows older than 24 h are dead (a new request may take the
-- key again) and `st-admin gc` removes them. See src/lib/idem.h.
CREATE TABLE idempotency_keys (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id    BIGINT UNSIGNED NOT NULL,
  idem_key      VARCHAR(255) NOT NULL,
  request_hash  CHAR(64)     NOT NULL,
  state         ENUM('pending','done') NOT NULL DEFAULT 'pending',
  status        SMALLINT UNSIGNED NULL,
  headers       TEXT         NULL,
  body          MEDIUMBLOB   NULL,
  created_at    DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  updated_at    DATETIME(3)  NOT NULL DEFAULT UTC_TIMESTAMP(3),
  UNIQUE KEY uq_idempotency_account_key (account_id, idem_key),
  KEY ix_idempotency_created (created_at),
  CONSTRAINT fk_idempotency_account FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
