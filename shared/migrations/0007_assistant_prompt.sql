-- The assistant's prompt (shared/assistant/prompt.py; askAssistant, contract 1.2) reads a
-- project's open tasks, most recently updated first, at most 50. No index had that order: at
-- 100,000 tasks in a project every question read all of them and sorted them. Partial on the
-- prompt's own condition (status <> 'done'), so done tasks cost it nothing, and the statement's
-- predicate matches the index's exactly.
CREATE INDEX tasks_project_open_updated_idx
    ON tasks (project_id, updated_at DESC, id DESC) WHERE status <> 'done';
