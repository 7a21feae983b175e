-- "My tasks" — the task list filtered by assignee, newest first (the list's default order) —
-- read every task of the assignee in the project and sorted them: at 100,000 tasks in a
-- project, thousands of rows for a page of twenty. With the assignee and the project leading
-- the list's order, that page is an index range read from its end. The assignee comes first so
-- the index still serves what tasks_assignee_idx served (the foreign key's lookups when a user
-- is deleted).
DROP INDEX tasks_assignee_idx;
CREATE INDEX tasks_assignee_project_created_idx
    ON tasks (assignee_id, project_id, created_at, id) WHERE assignee_id IS NOT NULL;
