"""The benchmarks run (on the project's seeds: tests never need ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import accuracy


def test_accuracy_report_falls_back_to_seeds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert accuracy.main(["--corpus", str(tmp_path / "absent")]) == 0
    out = capsys.readouterr().out
    assert "seeds/ instead" in out
    assert "0 labelled" in out  # the seeds carry no labels: field counts only
    assert "read from postings: title " in out


def _lever(
    id_: str, workplace: str, salary: str = "", pay: dict[str, object] | None = None
) -> dict[str, object]:
    posting: dict[str, object] = {
        "id": id_, "text": f"Engineer {id_}", "categories": {"location": "Berlin"},
        "workplaceType": workplace, "descriptionPlain": "", "description": f"<p>{salary}</p>",
    }  # fmt: skip
    if pay:
        posting["salaryRange"] = pay
    return posting


def test_accuracy_scores_against_labels(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "lever").mkdir(parents=True)
    pay = {"min": 100000, "max": 120000, "currency": "USD", "interval": "per-year-salary"}
    postings = [
        _lever("right", "remote", pay=pay),
        _lever("wrong-kind", "remote"),  # the label says hybrid
        _lever("invented", "onsite", salary="Salary: $90,000 - $95,000 per year"),
    ]
    (corpus / "lever" / "acme_postings.json").write_text(json.dumps(postings), encoding="utf-8")
    labels = [
        {"posting_id": "right", "remote": "remote",
         "salary": {"min": 100000, "max": 120000, "currency": "USD", "period": "year"}},
        {"posting_id": "wrong-kind", "remote": "hybrid", "salary": None},
        {"posting_id": "invented", "remote": "onsite", "salary": None},
    ]  # fmt: skip
    (corpus / "labels.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "file": "lever/acme_postings.json",
                    "remote_evidence": "",
                    "salary_source": "",
                    "has_requirements_section": False,
                    **label,
                }
            )
            + "\n"
            for label in labels
        ),
        encoding="utf-8",
    )
    report = accuracy.evaluate(corpus)
    assert (report.postings, report.labelled) == (3, 3)
    stated = report.remote_stated["source:lever"]
    assert (stated.right, stated.total) == (2, 3)
    assert report.confusion[("hybrid", "remote")] == 1
    assert (report.pay["all"].right, report.pay["all"].total) == (2, 3)
    assert len(report.pay_invented) == 1
    assert "invented" in report.pay_invented[0]
    assert report.requirements["all"].right == 3


def _write_labels(corpus: Path, labels: list[dict[str, object]]) -> None:
    defaults = {"file": "lever/acme_postings.json", "remote": "onsite", "remote_evidence": "",
                "salary": None, "salary_source": "", "has_requirements_section": False}  # fmt: skip
    lines = "".join(json.dumps({**defaults, **label}) + "\n" for label in labels)
    (corpus / "labels.jsonl").write_text(lines, encoding="utf-8")


def test_accuracy_reports_each_label_it_cannot_score_with_the_reason(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "lever").mkdir(parents=True)
    (corpus / "lever" / "acme_postings.json").write_text(
        json.dumps([_lever("a", "onsite"), _lever("b", "onsite")]), encoding="utf-8"
    )
    (corpus / "lever" / "broken_postings.json").write_text("{not json", encoding="utf-8")
    _write_labels(
        corpus,
        [
            {"posting_id": "a"},
            {"posting_id": "gone"},  # the file has a and b only
            {"file": "lever/broken_postings.json", "posting_id": "x"},
            {"file": "lever/absent.json", "posting_id": "y"},
        ],
    )
    report = accuracy.evaluate(corpus)
    assert (report.labelled, report.unlabelled) == (1, 1)
    assert len(report.unscorable) == 3
    reasons = "\n".join(report.unscorable)
    assert "acme_postings.json gone: the file has no posting 'gone' (read: a, b)" in reasons
    assert "broken_postings.json x: the file was not read (JSONDecodeError" in reasons
    assert "absent.json y: no such file in the corpus" in reasons
    assert "labels not scored: 3" in accuracy.render(report, corpus, False, False)


def test_an_extra_pay_range_that_says_otherwise_makes_the_pay_wrong(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "lever").mkdir(parents=True)
    right = "Salary: $100,000 - $120,000 per year"
    postings = [
        _lever("alone", "onsite", salary=right),
        _lever("extra", "onsite", salary=f"{right}</p><p>Salary: $90,000 - $95,000 per year"),
        _lever("elsewhere", "onsite", salary=f"Remote: {right[8:]}; New York: $130,000 - $150,000"),
        _lever("abroad", "onsite", salary=f"{right}</p><p>CA$90,000 - CA$95,000 per year"),
    ]
    (corpus / "lever" / "acme_postings.json").write_text(json.dumps(postings), encoding="utf-8")
    wanted = {"min": 100000, "max": 120000, "currency": "USD", "period": "year"}
    _write_labels(
        corpus,
        [{"posting_id": p, "salary": wanted} for p in ("alone", "extra", "elsewhere", "abroad")],
    )
    report = accuracy.evaluate(corpus)
    assert (report.pay["all"].right, report.pay["all"].total) == (3, 4)
    assert any(m.startswith("pay lever/acme_postings.json extra:") for m in report.misses)


def test_requirements_are_scored_against_a_labelled_list_where_there_is_one(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "lever").mkdir(parents=True)
    listed = "<h3>Requirements</h3><ul><li>Python</li><li>PostgreSQL</li></ul>"
    postings = [_lever(p, "onsite") for p in ("same", "other", "section")]
    for posting in postings:
        posting["description"] = listed
    (corpus / "lever" / "acme_postings.json").write_text(json.dumps(postings), encoding="utf-8")
    _write_labels(
        corpus,
        [
            {"posting_id": "same", "requirements": ["python", "  PostgreSQL"]},
            {"posting_id": "other", "requirements": ["Python", "Kubernetes"]},
            {"posting_id": "section", "has_requirements_section": True},
        ],
    )
    report = accuracy.evaluate(corpus)
    lists = report.requirement_lists["all"]
    assert (lists.right, lists.total) == (1, 2)
    assert (report.requirements["all"].right, report.requirements["all"].total) == (1, 1)
    assert "requirements lever/acme_postings.json other: 1 labelled items not read, 1 read" in (
        "\n".join(report.misses)
    )


def test_daemon_benchmark_finds_every_change_on_a_small_site(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import daemon

    args = ["--postings", "40", "--board-jobs", "20", "--workday-members", "0"]
    code = daemon.main([*args, "--server", "python", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    detection = result["detection"]
    assert detection["edits_made"] == 6  # 10% of 40 pages and of 20 board jobs
    assert detection["edits_detected"] == 6  # each with the new value the edit made
    assert (detection["wrong_values"], detection["false_changes"]) == (0, 0)
    assert detection["extra_changes"] == 0
    assert result["perfect"] is True
    assert result["false_alerts"] == 0
    assert result["changes_in_304_pass"] == 0
    first, second, third = result["passes"]
    assert first["outcomes"] == {"baseline": 41}
    assert second["outcomes"] == {"changed": 5, "not_modified": 36}  # the board counts once
    assert third["outcomes"] == {"not_modified": 41}
    assert "workday" not in result


@pytest.mark.parametrize("processes", ["1", "2"])
def test_daemon_benchmark_scores_a_workday_boards_member_edits(
    capsys: pytest.CaptureFixture[str], processes: str
) -> None:
    """With two processes the checker's requests and checks are counted too."""
    from bench import daemon

    args = ["--postings", "10", "--board-jobs", "0", "--workday-members", "50"]
    args += ["--processes", processes]
    code = daemon.main([*args, "--server", "python", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["perfect"] is True  # the pages' figures stand apart from the board's
    assert result["detection"]["edits_made"] == 1
    workday = result["workday"]
    assert workday["members"] == 50
    # 50 members, 20 a page: three list requests a pass, never a 304 (a POST).
    assert [p["list_requests"] for p in workday["passes"]] == [3, 3, 3]
    assert result["passes"][2]["outcomes"].get("unchanged", 0) >= 1  # the board's list
    detection = workday["detection"]
    assert detection["edits_made"] == 5  # 10% of the members, in their details
    assert (detection["wrong_values"], detection["false_changes"]) == (0, 0)
    assert detection["extra_changes"] == 0
    assert detection["edits_detected"] + detection["missed"] == detection["edits_made"]
    assert (workday["false_alerts"], workday["changes_in_304_pass"]) == (0, 0)
    # Every member's job is read: once in pass 1 (after the board's first check), and
    # again in each later pass (304s in pass 3); every edit made in a job is found.
    assert workday["details_read"]
    assert [p["detail_requests"] for p in workday["passes"]] == [50, 50, 50]
    assert detection["edits_detected"] == detection["edits_made"]
    assert [sum(p["outcomes"].values()) for p in result["passes"]] == [62, 62, 62]
    assert result["processes"] == int(processes)
    assert code == 0


def test_oneshot_benchmark_runs_check_as_a_process_beside_the_daemon(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import oneshot

    args = ["--postings", "30", "--server", "python", "--repeats", "1", "--json"]
    code = oneshot.main(args)
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(result["startup"]) == {"--version", "status"}
    (run,) = result["runs"]
    first, second = run["oneshot"]
    assert first["summary"].startswith("checked 30 postings (30 baseline)")
    assert second["summary"].startswith("checked 30 postings (3 changed, 27 not_modified)")
    assert "alerts: 3 sent" in second["summary"]
    assert first["peak_rss_mb"] > 0
    assert [d["checks"] for d in run["daemon"]] == [30, 30]
    found = run["detection"]  # the one-shot pass's changes scored against the edits
    assert (found["edits_made"], found["edits_detected"], found["perfect"]) == (3, 3, True)


@pytest.mark.postgres
def test_explain_benchmark_plans_every_periodic_query(
    capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    from bench import explain

    base = postgres_url.split("?")[0]  # it makes a schema of its own
    # At a few thousand rows a sequential scan may well be the cheaper plan: the exit
    # code matters at a million (see README); here, that every query is planned.
    assert explain.main(["--postings", "3000", "--database", base, "--json"]) in (0, 1)
    result = json.loads(capsys.readouterr().out)
    queries = {plan["query"] for plan in result["plans"]}
    assert {"claim due postings (dispatch)", "count due postings (heartbeat)"} <= queries
    assert {"claim due alerts (delivery)", "old check log rows (prune)"} <= queries
    assert all(plan["scans"] for plan in result["plans"])


def test_detections_are_scored_against_the_edits_and_their_new_values() -> None:
    from bench.scoring import Detected, Edit, score

    edits = [
        Edit("a", "salary", ("105,000", "150,000")),
        Edit("b", "requirements", ("Kafka 5 in production",)),
        Edit("c", "remote", ("hybrid",)),
        Edit("d", "salary", ("95,000", "120,000")),
        Edit("e", "remote", ("remote",)),
    ]
    found = [
        Detected("a", "salary", "105,000–150,000 USD/yr"),  # right
        Detected("b", "requirements.minimum", "Kafka 5 in production"),  # right
        Detected("b", "title", "Engineer 2"),  # extra: nobody edited b's title
        Detected("c", "remote", "remote"),  # wrong value
        Detected("d", "salary", "190,000–240,000 USD/yr"),  # a doubled amount: wrong value
        Detected("z", "salary", "1–2 USD/yr"),  # false: z was never edited
    ]
    scored = score(edits, found)
    assert scored.made == 5
    assert scored.detected == 2
    assert [(e.posting, d.new) for e, d in scored.wrong_values] == [
        ("c", "remote"),
        ("d", "190,000–240,000 USD/yr"),
    ]
    assert [e.posting for e in scored.missed] == ["e"]
    assert [d.posting for d in scored.false] == ["z"]
    assert [d.field for d in scored.extra] == ["title"]
    assert not scored.perfect
    right = score(edits[:2], found[:2])
    assert right.perfect
    assert right.summary()["edits_detected"] == 2


def test_one_change_answers_one_edit() -> None:
    from bench.scoring import Detected, Edit, score

    twice = [Edit("a", "remote", ("hybrid",)), Edit("a", "remote", ("remote",))]
    scored = score(twice, [Detected("a", "remote", "hybrid")])
    assert (scored.detected, [e.shows for e in scored.missed]) == (1, [("remote",)])


def test_remote_rule_edits_count_like_other_edits_and_are_reported_by_kind() -> None:
    from bench.scoring import Detected, Edit, score

    edits = [
        Edit("a", "remote", ("time zones: United States, Canada",), what="remote rules"),
        Edit("b", "remote", ("travel up to 25%",), what="remote rules"),
        Edit("c", "remote", ("hybrid",)),
    ]
    found = [
        Detected("a", "remote", "remote (remote within United States; time zones: United States, Canada)"),
        Detected("c", "remote", "hybrid (in office 3 days a week)"),
    ]  # fmt: skip
    scored = score(edits, found)
    assert (scored.detected, [e.posting for e in scored.missed]) == (2, ["b"])
    assert scored.summary()["by_kind"] == {
        "remote": {"made": 1, "detected": 1},
        "remote rules": {"made": 2, "detected": 1},
    }


def test_the_generated_site_moves_remote_rules_under_a_steady_jsonld_kind(tmp_path: Path) -> None:
    from bench.daemon import RULES, Site

    site = Site(tmp_path / "www", postings=200, board_jobs=0)
    before = {job.index: (job.remote, job.rule) for job in site.pages}
    edits = [e for e in site.mutate(0.5) if e.what == "remote rules"]
    assert edits  # the generator makes rule edits
    for edit in edits:
        job = site.pages[int(edit.posting.split(":")[1])]
        assert job.remote == before[job.index][0]  # the kind stays ...
        assert job.rule != before[job.index][1]  # ... the rules move
        assert edit.shows == (RULES[job.remote][job.rule][1],)
        page = (tmp_path / "www" / "p" / f"{job.index}.html").read_text()
        assert ('"TELECOMMUTE"' in page) is (job.remote == "remote")
