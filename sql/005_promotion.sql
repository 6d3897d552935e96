-- Issue 8 (part): promotion of a pilot batch's best configurations to a
-- production batch on the whole data.
--
-- batches.auto_promote_top_k: set when the pilot batch asked for automatic
-- promotion; auto_promote_state follows it: 'waiting' until the dispatcher
-- promoted it ('done') or found it could not ('failed', the reason in
-- auto_promote_error). promoted_batch_id is the production batch of the
-- latest promotion; promoted_from_batch_id, on that batch, its pilot batch.
-- jobs.promoted_from is the pilot job whose configuration a job reruns.
ALTER TABLE batches
  ADD COLUMN auto_promote_top_k INT UNSIGNED NULL,
  ADD COLUMN auto_promote_state ENUM('waiting','done','failed') NULL,
  ADD COLUMN auto_promote_error VARCHAR(512) NULL,
  ADD COLUMN promoted_batch_id BIGINT UNSIGNED NULL,
  ADD COLUMN promoted_from_batch_id BIGINT UNSIGNED NULL,
  ADD KEY ix_batches_auto_promote (auto_promote_state, id),
  ADD CONSTRAINT fk_batches_promoted FOREIGN KEY (promoted_batch_id) REFERENCES batches (id),
  ADD CONSTRAINT fk_batches_promoted_from FOREIGN KEY (promoted_from_batch_id) REFERENCES batches (id);

ALTER TABLE jobs
  ADD COLUMN promoted_from BIGINT UNSIGNED NULL,
  ADD KEY ix_jobs_promoted_from (promoted_from),
  ADD CONSTRAINT fk_jobs_promoted_from FOREIGN KEY (promoted_from) REFERENCES jobs (id);
