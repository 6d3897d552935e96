-- Issue 8 (part): retries with kept attempts.
--
-- A batch's retry policy, normalized (src/lib/retry.h): how many attempts a
-- job may have in all, and the failure classes that earn another one, as a
-- comma-separated list ('' for none). jobs.attempt is the number of the
-- job's current attempt; job_attempts keeps each earlier one as it ended
-- (the host's name as it was then, the failure class that requeued it).
ALTER TABLE batches
  ADD COLUMN retry_attempts TINYINT UNSIGNED NOT NULL DEFAULT 3,
  ADD COLUMN retry_on VARCHAR(2400) NOT NULL DEFAULT 'host_failure';

ALTER TABLE jobs
  ADD COLUMN attempt INT UNSIGNED NOT NULL DEFAULT 1;

CREATE TABLE job_attempts (
  job_id       BIGINT UNSIGNED NOT NULL,
  attempt      INT UNSIGNED    NOT NULL,
  host_id      BIGINT UNSIGNED NULL,
  host_name    VARCHAR(64)     NULL,
  started_at   DATETIME(3)     NULL,
  finished_at  DATETIME(3)     NULL,
  exit_code    INT             NULL,
  oom_killed   TINYINT(1)      NOT NULL DEFAULT 0,
  error        VARCHAR(2048)   NULL,
  failure      VARCHAR(16)     NOT NULL,
  PRIMARY KEY (job_id, attempt),
  KEY ix_job_attempts_host (host_id),
  CONSTRAINT fk_job_attempts_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE,
  CONSTRAINT fk_job_attempts_host FOREIGN KEY (host_id) REFERENCES hosts (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
