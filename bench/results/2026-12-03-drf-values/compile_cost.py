"""What share of a DRF get-task request is Django building and compiling its querysets (README,
"Latest results"). In one process, in alternating blocks: a whole get-task request through the
WSGI application (what gunicorn calls, without gunicorn) against the demo data, and the same
three querysets built and compiled but not executed — the task row as impl_drf.selectors reads
it, the caller by id (the authentication's statement) and the task's labels.

    XDG_DATA_HOME=/tmp/cc quartet serve drf --port 8097        # loads the demo data; then
    DATABASE_URL='postgresql://postgres@/quartet?host=/tmp/cc/quartet/pgdata' \\
        .venv/bin/python bench/results/2026-12-03-drf-values/compile_cost.py
"""

import io
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impl_drf.settings")

from impl_drf.wsgi import application

# isort: split
from impl_drf import selectors
from impl_drf.models import TaskLabel, User

DEMO_FORM = b"grant_type=password&username=ada%40example.com&password=quartet-demo-password"


def call(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()},
    }
    if "HTTP_CONTENT_TYPE" in environ:
        environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
    status: list[str] = []
    chunks = application(environ, lambda line, _headers, _exc=None: status.append(line))
    data = b"".join(chunks)
    chunks.close()
    assert status[0].startswith("2"), (status, data)
    return data


def get_task_request() -> Callable[[], bytes]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    token = json.loads(call("POST", "/api/v1/auth/token", form, DEMO_FORM))["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    project = json.loads(call("GET", "/api/v1/projects", auth))["items"][0]["id"]
    tasks = json.loads(call("GET", f"/api/v1/projects/{project}/tasks", auth))["items"]
    task = next(task for task in tasks if task["assignee"] and task["labels"])
    return lambda: call("GET", f"/api/v1/tasks/{task['id']}", auth)


CALLER = User(id=uuid.uuid4(), email="caller@example.com", display_name="Caller")
TASK_ID = uuid.uuid4()


def build_and_compile() -> None:
    task = selectors.tasks_for(CALLER).filter(pk=TASK_ID).query.chain()
    task.set_limits(high=21)  # QuerySet.get()'s limit
    task.get_compiler(using="default").as_sql()
    User.objects.filter(pk=TASK_ID).query.get_compiler(using="default").as_sql()
    labels = (
        TaskLabel.objects.filter(task_id__in=[TASK_ID])
        .order_by("label__name", "label_id")
        .values_list("task_id", "label_id", "label__name", "label__color")
    )
    labels.query.get_compiler(using="default").as_sql()


def cpu_seconds(work: Callable[[], object], times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        started = time.process_time()
        work()
        seconds.append(time.process_time() - started)
    return seconds


request = get_task_request()
cpu_seconds(request, 200)  # warm-up
cpu_seconds(build_and_compile, 200)
requests: list[float] = []
compiles: list[float] = []
for _ in range(40):
    requests += cpu_seconds(request, 25)
    compiles += cpu_seconds(build_and_compile, 25)
whole, compiled = statistics.median(requests), statistics.median(compiles)
print(
    f"get-task request {whole * 1e6:.0f} µs of CPU; its querysets built and compiled "
    f"{compiled * 1e6:.0f} µs: {compiled / whole:.0%}"
)
