"""Jobs for the worker fault tests, imported by the worker subprocesses
(``jizuo worker --import tests.platform.fault_jobs``).

``tests.faults.mark`` creates one ``lab.mark`` record guarded by an action receipt keyed by
its job id, written in the same transaction: however often the job runs, the record exists
once. Files in ``gate`` steer and observe it: ``<label>.reached`` holds the work horse's pid
once the effect is committed; with ``block`` it then waits for ``<label>.go``; it fails
while ``ctx.attempt <= fails``, or until ``<label>.fixed`` exists with ``fail_until_fixed``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import select

from jizuo.platform import registry
from jizuo.platform.auth import system_actor
from jizuo.platform.models import ActionReceipt, Workspace
from jizuo.platform.records import RecordStore

MARK = {
    "key": "mark",
    "title": {"en": "Mark"},
    "title_field": "label",
    "schema": {
        "type": "object",
        "properties": {"label": {"type": "string", "maxLength": 100}},
        "required": ["label"],
    },
}


@registry.job("tests.faults.mark")
def mark(
    ctx,  # noqa: ANN001
    workspace_id: int,
    label: str,
    gate: str,
    block: bool = False,
    fails: int = 0,
    fail_until_fixed: bool = False,
) -> dict:
    session = ctx.session
    key = f"{ctx.job.id}:mark"
    if session.scalar(select(ActionReceipt).where(ActionReceipt.key == key)) is None:
        actor = system_actor(session.get(Workspace, workspace_id))
        record = RecordStore(session, actor).entity("lab", "mark").create({"label": label})
        session.add(ActionReceipt(key=key, workspace_id=workspace_id, result={"id": record.id}))
        session.commit()
    gate_dir = Path(gate)
    (gate_dir / f"{label}.reached").write_text(str(os.getpid()))
    if block:
        deadline = time.monotonic() + 30
        while not (gate_dir / f"{label}.go").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("nobody opened the gate")
            time.sleep(0.05)
    if ctx.attempt <= fails:
        raise ConnectionError(f"{label}: attempt {ctx.attempt} lost its connection")
    if fail_until_fixed and not (gate_dir / f"{label}.fixed").exists():
        raise RuntimeError(f"{label}: the printer is out of paper")
    return {"label": label, "attempt": ctx.attempt}
