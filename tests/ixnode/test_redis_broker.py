"""django-q2 on the Redis broker (``IXNODE_REDIS_URL``), against the running Redis that scripts/services.sh starts:
a product task queued by one process waits in Redis until a ``manage.py qcluster`` worker runs it, and its result is
recorded in the database as on the ORM broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("IXNODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

ENQUEUE = ("import django; django.setup(); from django_q.tasks import async_task; "
           "print(async_task('policies.tasks.policy_evaluate_all', task_name={name!r}))")
RESULT = ("import django; django.setup(); from django_q.models import Task; "
          "t = Task.objects.filter(name={name!r}).first(); "
          "print('none' if t is None else f'{{t.success}} {{t.result}}')")


def product(env: dict[str, str], code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


@pytest.mark.slow
def test_a_task_waits_in_redis_until_a_worker_runs_it(tmp_path):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis does not answer at {REDIS_URL}: scripts/services.sh starts it", pytrace=False)
    # A cluster (and so a queue) of this test's own: another run sharing the Redis never takes its task.
    cluster = f"ixnode-test-{uuid.uuid4().hex[:8]}"
    queue_key = f"django_q:{cluster}:q"  # django-q2's list for the cluster (IXNODE_Q_NAME)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "ixnode.settings",
           "IXNODE_ENV_FILE": "", "IXNODE_VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": "redis-broker-test-" * 3,
           "IXNODE_REDIS_URL": REDIS_URL, "IXNODE_Q_WORKERS": "1", "IXNODE_Q_NAME": cluster}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    name = f"redis-broker-{uuid.uuid4().hex[:8]}"
    assert product(env, ENQUEUE.format(name=name))  # the task id
    assert client.llen(queue_key) == 1  # queued in Redis, not in the database
    assert product(env, RESULT.format(name=name)) == "none"
    worker = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        result = "none"
        while result == "none" and time.monotonic() < deadline:
            time.sleep(1)
            result = product(env, RESULT.format(name=name))
        assert result == "True 0", result  # the evaluation ran (no service has a policy: 0 evaluated)
        assert client.llen(queue_key) == 0
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        client.delete(queue_key)
