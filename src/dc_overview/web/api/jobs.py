"""/api/exporters/install starts a deploy job; /api/jobs/<id> reports per-host progress."""

from __future__ import annotations

from flask import jsonify

from dc_overview.inventory.errors import NotFound
from dc_overview.remote.service import job_store, start_job
from dc_overview.web.api import bp
from dc_overview.web.api.body import json_body
from dc_overview.web.context import services


@bp.post("/exporters/install")
def install_exporters():
    """`{"servers": [...]} | {"all": true}`, optional `exporters`, `remove`, `parallel`."""
    job = start_job(services(), json_body())
    return jsonify({"job_id": job.id, "url": f"/api/jobs/{job.id}"}), 202


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    job = job_store(services()).load(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return jsonify(job)
