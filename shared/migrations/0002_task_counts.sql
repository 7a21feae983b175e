-- A project's task counts per status, kept by the database itself.
--
-- Project representations carry `task_counts`. Counting a project's tasks on every read costs
-- as much as the project is big; a row per project, maintained by statement-level triggers in
-- the same transaction as the task write, costs one indexed join whatever the size, and is the
-- same SQL for all four implementations (a join, which every ORM can say).

CREATE TABLE project_task_counts (
    project_id  uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    todo        integer NOT NULL DEFAULT 0 CHECK (todo >= 0),
    in_progress integer NOT NULL DEFAULT 0 CHECK (in_progress >= 0),
    done        integer NOT NULL DEFAULT 0 CHECK (done >= 0)
);

INSERT INTO project_task_counts (project_id, todo, in_progress, done)
SELECT p.id,
       count(t.id) FILTER (WHERE t.status = 'todo'),
       count(t.id) FILTER (WHERE t.status = 'in_progress'),
       count(t.id) FILTER (WHERE t.status = 'done')
FROM projects p LEFT JOIN tasks t ON t.project_id = p.id
GROUP BY p.id;

CREATE FUNCTION project_task_counts_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_task_counts (project_id) SELECT id FROM created_projects;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_create_task_counts
    AFTER INSERT ON projects REFERENCING NEW TABLE AS created_projects
    FOR EACH STATEMENT EXECUTE FUNCTION project_task_counts_create();

-- One UPDATE per statement, whatever the number of rows (a project deleted with 100,000 tasks
-- cascades as one DELETE per project); the rows of a project being deleted find no counts row.
-- Updates that move no task between statuses or projects change nothing.
CREATE FUNCTION project_task_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH moves AS (
        SELECT project_id, status, 1 AS n FROM added_tasks
        UNION ALL
        SELECT project_id, status, -1 AS n FROM removed_tasks
    ), deltas AS (
        SELECT project_id,
               coalesce(sum(n) FILTER (WHERE status = 'todo'), 0) AS todo,
               coalesce(sum(n) FILTER (WHERE status = 'in_progress'), 0) AS in_progress,
               coalesce(sum(n) FILTER (WHERE status = 'done'), 0) AS done
        FROM moves GROUP BY project_id
    )
    UPDATE project_task_counts c
    SET todo = c.todo + d.todo, in_progress = c.in_progress + d.in_progress,
        done = c.done + d.done
    FROM deltas d
    WHERE c.project_id = d.project_id AND (d.todo, d.in_progress, d.done) <> (0, 0, 0);
    RETURN NULL;
END $$;

-- A trigger with transition tables takes one event: one function per event.
CREATE FUNCTION project_task_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE project_task_counts c
    SET todo = c.todo + d.todo, in_progress = c.in_progress + d.in_progress,
        done = c.done + d.done
    FROM (SELECT project_id,
                 count(*) FILTER (WHERE status = 'todo') AS todo,
                 count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                 count(*) FILTER (WHERE status = 'done') AS done
          FROM added_tasks GROUP BY project_id) d
    WHERE c.project_id = d.project_id;
    RETURN NULL;
END $$;

CREATE FUNCTION project_task_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE project_task_counts c
    SET todo = c.todo - d.todo, in_progress = c.in_progress - d.in_progress,
        done = c.done - d.done
    FROM (SELECT project_id,
                 count(*) FILTER (WHERE status = 'todo') AS todo,
                 count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                 count(*) FILTER (WHERE status = 'done') AS done
          FROM removed_tasks GROUP BY project_id) d
    WHERE c.project_id = d.project_id;
    RETURN NULL;
END $$;

CREATE TRIGGER tasks_count_inserted
    AFTER INSERT ON tasks REFERENCING NEW TABLE AS added_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION project_task_counts_inserted();
CREATE TRIGGER tasks_count_deleted
    AFTER DELETE ON tasks REFERENCING OLD TABLE AS removed_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION project_task_counts_deleted();
CREATE TRIGGER tasks_count_updated
    AFTER UPDATE ON tasks REFERENCING OLD TABLE AS removed_tasks NEW TABLE AS added_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION project_task_counts_apply();
