-- The due-date orders put tasks without a due date last in both directions. An index on
-- (project_id, due_date, id) serves neither `due_date DESC NULLS LAST` nor the keyset condition
-- `(due_date, id) > (d, x) OR due_date IS NULL` as a range; ordering on the due date with NULL
-- replaced by +infinity (ascending) or -infinity (descending) does, with one index per
-- direction (shared/cursors.py DATE_NULLS_LAST names the same sentinels).
DROP INDEX tasks_project_due_idx;
CREATE INDEX tasks_project_due_soonest_idx
    ON tasks (project_id, coalesce(due_date, 'infinity'::date), id);
CREATE INDEX tasks_project_due_latest_idx
    ON tasks (project_id, coalesce(due_date, '-infinity'::date), id);
