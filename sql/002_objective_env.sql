-- Issue 8 (part): the objective a batch's leaderboard ranks by, and the
-- environment of each job (a JSON object {"NAME": "value"}, NULL for none).
ALTER TABLE batches
  ADD COLUMN objective_metric VARCHAR(128) NOT NULL DEFAULT 'fitness_score',
  ADD COLUMN objective_direction ENUM('max','min') NOT NULL DEFAULT 'max';

ALTER TABLE jobs
  ADD COLUMN env MEDIUMTEXT NULL;
