-- Core schema of Taskboard (contract/openapi.yaml), shared by all four implementations.
-- Orderings that the API exposes are backed by indexes that match them column for column, so
-- every keyset page is an index range scan.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    -- "C" collation: the same byte order on every server, so every implementation pages alike.
    display_name  text COLLATE "C" NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    password_hash text NOT NULL,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_display_name_id_idx ON users (display_name, id);
-- Prefix search on q: lower(...) text_pattern_ops serves `lower(col) LIKE 'abc%'`.
CREATE INDEX users_email_prefix_idx ON users (email text_pattern_ops);
CREATE INDEX users_display_name_prefix_idx ON users (lower(display_name) text_pattern_ops);

CREATE TABLE projects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX projects_created_at_id_idx ON projects (created_at DESC, id DESC);

CREATE TABLE project_members (
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
-- "My projects": from the member side.
CREATE INDEX project_members_user_id_idx ON project_members (user_id, project_id);

CREATE TABLE labels (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       text COLLATE "C" NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    color      text NOT NULL CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX labels_project_name_ci_key ON labels (project_id, lower(name));
CREATE INDEX labels_project_name_idx ON labels (project_id, name, id);

CREATE TABLE tasks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status        text NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'done')),
    priority      text NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    -- The sort order of priority, derived in one place so no implementation re-encodes it.
    priority_rank smallint GENERATED ALWAYS AS (
                      CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1
                                    WHEN 'high' THEN 2 ELSE 3 END) STORED,
    assignee_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    due_date      date,
    created_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);
-- One index per sort of the task list (keyset pagination), all scoped by project.
CREATE INDEX tasks_project_created_idx  ON tasks (project_id, created_at, id);
CREATE INDEX tasks_project_due_idx      ON tasks (project_id, due_date, id);
CREATE INDEX tasks_project_priority_idx ON tasks (project_id, priority_rank, id);
CREATE INDEX tasks_assignee_idx         ON tasks (assignee_id) WHERE assignee_id IS NOT NULL;

CREATE TABLE task_labels (
    task_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    label_id uuid NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, label_id)
);
CREATE INDEX task_labels_label_id_idx ON task_labels (label_id, task_id);

CREATE TABLE comments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id  uuid NOT NULL REFERENCES users (id),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_task_created_idx ON comments (task_id, created_at, id);

CREATE TABLE activity (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Commit-independent total order: entries of one transaction share created_at.
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    actor_id    uuid NOT NULL REFERENCES users (id),
    verb        text NOT NULL CHECK (verb IN (
                    'project.created', 'project.updated',
                    'member.added', 'member.updated', 'member.removed',
                    'label.created', 'label.deleted',
                    'task.created', 'task.updated', 'task.deleted',
                    'comment.created', 'comment.updated', 'comment.deleted')),
    target_type text NOT NULL CHECK (target_type IN ('project', 'member', 'label', 'task', 'comment')),
    target_id   uuid NOT NULL,
    changes     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_project_seq_idx ON activity (project_id, seq DESC);
