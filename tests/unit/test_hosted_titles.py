"""Hosted job pages whose heading is the company's name, not the job's."""

from __future__ import annotations

from tests.goldens import read


def test_jazzhr_job_headed_with_the_company_name_takes_the_jobs_title() -> None:
    url = "https://northwind.applytojob.com/apply/Qm7Tz2Lp9K/Field-Service-Technician"
    (job,) = read("hosted/jazzhr-job-brand-heading.html", url, "text/html")
    assert job.title == "Field Service Technician"
    assert job.source_kind == "jazzhr"


def test_jazzhr_job_with_its_title_in_the_heading_keeps_it() -> None:
    url = "https://northwind.applytojob.com/apply/Xb4TqRk2Lm/Customer-Support-Specialist"
    (job,) = read("hosted/jazzhr-job.html", url, "text/html")
    assert job.title == "Customer Support Specialist"
