"""Settings resolve in one place: flag > environment > research.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_settings, resolve_workspace
from agent.errors import ConfigError, WorkspaceError
from agent.settings import DEFAULT_MODEL, ArxivSettings
from agent.workspace import init_workspace
from tests.cli import run_cli


def write_settings(workspace: Path, text: str) -> None:
    (workspace / "research.toml").write_text(text, encoding="utf-8")


def test_defaults_without_file_or_environment(workspace: Path) -> None:
    settings = load_settings(workspace, environ={})
    assert settings.arxiv.api_url == ArxivSettings().api_url  # the public API (see the README)
    assert settings.arxiv.html_url == "https://arxiv.org/html/"
    assert settings.arxiv.pdf_url == "https://arxiv.org/pdf/"
    assert settings.arxiv.delay_seconds == 3
    assert settings.llm.base_url is None and settings.llm.api_key is None
    assert not settings.llm.enabled and settings.llm.model == DEFAULT_MODEL
    assert settings.database_url == f"sqlite:///{workspace / 'state' / 'agent.db'}"


def test_flag_beats_environment_beats_file(workspace: Path) -> None:
    write_settings(workspace, '[arxiv]\napi_url = "http://file/api"\ndelay_seconds = 5\n'
                              '[llm]\nmodel = "file-model"\n')
    environ = {"ARXIV_API_URL": "http://env/api", "RESEARCH_AGENT_MODEL": "env-model"}
    settings = load_settings(workspace, {"arxiv.api_url": "http://flag/api"}, environ=environ)
    assert settings.arxiv.api_url == "http://flag/api"
    assert settings.llm.model == "env-model"
    assert settings.arxiv.delay_seconds == 5.0  # from the file, as a float
    only_file = load_settings(workspace, environ={})
    assert only_file.arxiv.api_url == "http://file/api" and only_file.llm.model == "file-model"


def test_environment_names_are_the_public_interface(workspace: Path) -> None:
    environ = {
        "ARXIV_API_URL": "http://127.0.0.1:1/api", "ARXIV_HTML_URL": "http://127.0.0.1:1/html/",
        "ARXIV_PDF_URL": "http://127.0.0.1:1/pdf/", "ARXIV_DELAY_SECONDS": "0",
        "OPENAI_BASE_URL": "http://127.0.0.1:2/v1", "OPENAI_API_KEY": "k",
        "RESEARCH_AGENT_MODEL": "m", "DATABASE_URL": "sqlite:////tmp/x.db",
    }
    settings = load_settings(workspace, environ=environ)
    assert settings.arxiv.html_url.endswith("/html/") and settings.arxiv.pdf_url.endswith("/pdf/")
    assert settings.arxiv.delay_seconds == 0.0
    assert settings.llm.base_url == "http://127.0.0.1:2/v1" and settings.llm.enabled
    assert settings.llm.model == "m" and settings.database_url == "sqlite:////tmp/x.db"


def test_key_written_into_settings_file_is_refused(workspace: Path) -> None:
    write_settings(workspace, '[llm]\napi_key = "sk-should-not-be-here"\n')
    with pytest.raises(ConfigError, match="api_key must not be written") as caught:
        load_settings(workspace, environ={})
    assert "sk-should-not-be-here" not in str(caught.value)


def test_key_file_is_read_and_key_kept_out_of_repr(workspace: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text("sk-from-a-file\n", encoding="utf-8")
    write_settings(workspace, f'[llm]\napi_key_file = "{key_file}"\n')
    settings = load_settings(workspace, environ={})
    assert settings.llm.api_key == "sk-from-a-file"
    assert "sk-from-a-file" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('colour = "red"\n', "unknown setting 'colour'"),
        ("[arxiv]\nspeed = 3\n", "arxiv.speed"),
        ('[arxiv]\ndelay_seconds = "soon"\n', "arxiv.delay_seconds"),
        ("[arxiv\n", "invalid TOML"),
    ],
)
def test_bad_settings_name_file_and_field(
    workspace: Path, text: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(workspace, text)
    result = run_cli(capsys, "cycle", "-w", str(workspace), "--source", "sample")
    assert result.code != 0 and fragment in result.err and "Traceback" not in result.err
    assert not list((workspace / "cycles").rglob("0*.md"))


def test_init_refuses_to_overwrite_a_workspace(workspace: Path) -> None:
    before = (workspace / "state" / "tracks.toml").read_text(encoding="utf-8")
    with pytest.raises(WorkspaceError, match="already holds a workspace"):
        init_workspace(workspace)
    assert (workspace / "state" / "tracks.toml").read_text(encoding="utf-8") == before


def test_init_writes_every_setting_commented_and_ignores_state(workspace: Path) -> None:
    text = (workspace / "research.toml").read_text(encoding="utf-8")
    for name in ("api_url", "html_url", "pdf_url", "delay_seconds", "base_url", "model",
                 "database_url", "daily_token_budget", "every", "active_hours"):
        assert f"# {name} =" in text
    ignored = (workspace / "state" / ".gitignore").read_text(encoding="utf-8")
    assert "agent.db" in ignored and "agent.log" in ignored and "cache/" in ignored
    assert load_settings(workspace, environ={}).llm.model == DEFAULT_MODEL


def test_workspace_resolution_names_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="research-agent init"):
        resolve_workspace(tmp_path)


def test_the_checkout_itself_is_a_workspace() -> None:
    root = Path(__file__).resolve().parent.parent
    assert resolve_workspace(root) == root
    assert load_settings(root, environ={}).tracks_path.is_file()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[arxiv]\ndelay_seconds = -1\n", "arxiv.delay_seconds"),
        ("[arxiv]\ntimeout_seconds = 0\n", "arxiv.timeout_seconds"),
        ("[arxiv]\nmax_retries = -1\n", "arxiv.max_retries"),
        ("[arxiv]\noverlap_days = -2\n", "arxiv.overlap_days"),
        ("[arxiv]\nmax_results = 0\n", "arxiv.max_results"),
        ("[arxiv]\npage_size = 0\n", "arxiv.page_size"),
        ("[arxiv]\npage_size = 2001\n", "arxiv.page_size"),
        ('[arxiv]\napi_url = "file:///etc/passwd"\n', "arxiv.api_url"),
        ('[arxiv]\nhtml_url = "ftp://arxiv.org/html/"\n', "arxiv.html_url"),
        ('[arxiv]\npdf_url = "arxiv.org/pdf/"\n', "arxiv.pdf_url"),
        ('[llm]\nbase_url = "localhost:11434/v1"\n', "llm.base_url"),
        ("[llm]\ntimeout_seconds = 0\n", "llm.timeout_seconds"),
        ("[llm]\nconcurrency = 0\n", "llm.concurrency"),
        ("[llm]\ndaily_token_budget = -1\n", "llm.daily_token_budget"),
        ("[llm]\ncycle_token_budget = -5\n", "llm.cycle_token_budget"),
        ("[learn]\nmax_papers = 0\n", "learn.max_papers"),
        ("[learn]\njudge_candidates = 0\n", "learn.judge_candidates"),
        ("[learn]\njudge_candidates = 1001\n", "learn.judge_candidates"),
        ("[learn]\nqueue_threshold = 1.5\n", "learn.queue_threshold"),
        ("[learn]\nqueue_threshold = -0.1\n", "learn.queue_threshold"),
        ("[learn]\nqueue_per_cycle = -1\n", "learn.queue_per_cycle"),
        ("[learn]\nmemory_papers = -1\n", "learn.memory_papers"),
        ("[fulltext]\nmax_bytes = 0\n", "fulltext.max_bytes"),
        ("[fulltext]\ndeadline_seconds = 0\n", "fulltext.deadline_seconds"),
        ("[fulltext]\nsection_tokens = 99\n", "fulltext.section_tokens"),
        ("[fulltext]\nmax_sections = 0\n", "fulltext.max_sections"),
        ("[schedule]\nshutdown_grace = -1\n", "schedule.shutdown_grace"),
        ('[schedule]\ntimezone = "Mars/Olympus"\n', "schedule.timezone"),
        ('[schedule]\nactive_hours = "night"\n', "schedule.active_hours"),
        ('[schedule]\nevery = "often"\n', "schedule.every"),
        ('[schedule]\nevery = "0m"\n', "schedule.every"),
    ],
)
def test_out_of_range_settings_name_the_file_and_field(
    workspace: Path, text: str, field: str
) -> None:
    write_settings(workspace, text)
    with pytest.raises(ConfigError, match=field) as caught:
        load_settings(workspace, environ={})
    assert "research.toml" in str(caught.value)


def test_edge_values_are_accepted(workspace: Path) -> None:
    write_settings(workspace, '[arxiv]\ndelay_seconds = 0\npage_size = 2000\n'
                              '[learn]\nqueue_threshold = 1.0\nqueue_per_cycle = 0\n'
                              '[schedule]\nevery = "1h30m"\nactive_hours = ""\n'
                              'timezone = "Europe/Paris"\n')
    settings = load_settings(workspace, environ={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert settings.arxiv.page_size == 2000 and settings.schedule.every == "1h30m"


def test_bad_value_from_the_environment_is_refused(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="arxiv.delay_seconds"):
        load_settings(workspace, environ={"ARXIV_DELAY_SECONDS": "-3"})
    with pytest.raises(ConfigError, match="llm.base_url"):
        load_settings(workspace, environ={"OPENAI_BASE_URL": "javascript:alert(1)"})


def test_status_with_unknown_timezone_is_a_clean_error(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(workspace, '[schedule]\ntimezone = "Mars/Olympus"\n')
    result = run_cli(capsys, "status", "-w", str(workspace))
    assert result.code != 0 and "Traceback" not in result.err
    assert "schedule.timezone" in result.err and "Mars/Olympus" in result.err


def test_base_url_alone_enables_the_llm(workspace: Path) -> None:
    settings = load_settings(workspace, environ={"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert settings.llm.enabled and settings.llm.api_key is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[arxiv]\ndelay_seconds = inf\n", "arxiv.delay_seconds"),
        ("[arxiv]\ndelay_seconds = 1e12\n", "arxiv.delay_seconds"),
        ("[arxiv]\ntimeout_seconds = inf\n", "arxiv.timeout_seconds"),
        ("[arxiv]\nmax_results = 1e12\n", "arxiv.max_results"),
        ("[arxiv]\nmax_retries = inf\n", "arxiv.max_retries"),
        ("[llm]\ntimeout_seconds = 1e12\n", "llm.timeout_seconds"),
        ("[llm]\nconcurrency = 100000\n", "llm.concurrency"),
        ("[llm]\ndaily_token_budget = 1e20\n", "llm.daily_token_budget"),
        ("[fulltext]\nmax_bytes = 1e15\n", "fulltext.max_bytes"),
        ("[fulltext]\ndeadline_seconds = inf\n", "fulltext.deadline_seconds"),
        ("[schedule]\nshutdown_grace = inf\n", "schedule.shutdown_grace"),
        ("[schedule]\nshutdown_grace = nan\n", "schedule.shutdown_grace"),
    ],
)
def test_absurd_settings_are_refused_with_file_name_and_range(
    workspace: Path, text: str, field: str
) -> None:
    write_settings(workspace, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(workspace, environ={})
    message = str(caught.value)
    assert field in message and str(workspace / "research.toml") in message
    assert "at most" in message


@pytest.mark.parametrize("value", ["inf", "1e12", "nan", "-inf", "1e3"])
def test_absurd_delay_from_the_environment_names_the_variable(
    workspace: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(workspace, environ={"ARXIV_DELAY_SECONDS": value})
    message = str(caught.value)
    assert "ARXIV_DELAY_SECONDS" in message and "arxiv.delay_seconds" in message
    assert "at most 60 " in message and "research.toml" not in message


def test_every_numeric_setting_has_a_ceiling() -> None:
    import dataclasses

    from agent.config import RULES, SECTIONS

    for section, cls in SECTIONS.items():
        for field in dataclasses.fields(cls):
            default = getattr(cls(), field.name)
            if isinstance(default, int | float) and not isinstance(default, bool):
                name = f"{section}.{field.name}"
                assert name in RULES, f"{name} has no range rule"
                test = RULES[name][1]
                assert test(default) and not test(1e12) and not test(float("inf")), name


def test_absurd_setting_stops_the_cli_cleanly(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARXIV_DELAY_SECONDS", "inf")
    result = run_cli(capsys, "status", "-w", str(workspace))
    assert result.code != 0 and "Traceback" not in result.err
    assert "ARXIV_DELAY_SECONDS" in result.err and "arxiv.delay_seconds" in result.err


def test_a_count_that_is_not_a_whole_number_names_its_range(workspace: Path) -> None:
    write_settings(workspace, '[arxiv]\nmax_results = "many"\n')
    with pytest.raises(ConfigError, match=r"arxiv.max_results .*whole number.*at most 10000"):
        load_settings(workspace, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[arxiv]\nmax_results = 1.5\n", "arxiv.max_results = 1.5 must be a whole number"),
        ("[llm]\nmodel = [1]\n", "llm.model = [1] must be a string"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_not_truncated(
    workspace: Path, text: str, message: str
) -> None:
    write_settings(workspace, text)
    with pytest.raises(ConfigError, match=r"research\.toml: ") as caught:
        load_settings(workspace, environ={})
    assert message in str(caught.value)


def test_validated_settings_are_the_same_frozen_dataclasses(workspace: Path) -> None:
    import dataclasses

    write_settings(workspace, "[arxiv]\ndelay_seconds = 5\n")
    settings = load_settings(workspace, environ={"ARXIV_DELAY_SECONDS": "7"})
    assert type(settings.arxiv) is ArxivSettings and settings.arxiv.delay_seconds == 7.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.arxiv.delay_seconds = 1  # type: ignore[misc]
