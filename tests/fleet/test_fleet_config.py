"""Broker settings, the fleet config file, job specs and topics: every refusal names the field at fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.fleet.broker import broker_settings, load_fleet_config
from benchctl.fleet.jobs import JobError, JobSpec
from benchctl.fleet.submit import make_spec
from benchctl.fleet.topics import Topics
from benchctl.paths import ROOT


def test_url_gives_host_port_and_tls() -> None:
    plain = broker_settings("mqtt://127.0.0.1", environ={})
    assert (plain.host, plain.port, plain.tls, plain.username, plain.password) == ("127.0.0.1", 1883, False, None, None)
    tls = broker_settings("mqtts://bench@broker.lab", environ={"BENCHCTL_BROKER_PASSWORD": "pw"})
    assert (tls.port, tls.tls, tls.username, tls.password) == (8883, True, "bench", "pw")
    assert "pw" not in repr(tls)


@pytest.mark.parametrize(("url", "message"), [
    ("http://broker:1883", "mqtt:// (plain) or mqtts://"),
    ("mqtt://user:secret@broker", "no password in the URL"),
    ("mqtt://broker:99999", "not a broker URL"),
    ("mqtt://broker/benchctl", "no path"),
    ("mqtt://", "names no host"),
])
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        broker_settings(url, environ={})
    assert caught.value.field == "--broker" and message in caught.value.message


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--ca-file.*mqtts://"):
        broker_settings("mqtt://b", ca_file=Path(__file__), environ={})
    with pytest.raises(ConfigError, match="--password-file: no such file"):
        broker_settings("mqtt://b", password_file=tmp_path / "nope", environ={})
    with pytest.raises(ConfigError, match="--username: a password is given but no username"):
        broker_settings("mqtt://b", environ={"BENCHCTL_BROKER_PASSWORD": "pw"})
    with pytest.raises(ConfigError, match="--key-file: a client key without a client certificate"):
        broker_settings("mqtts://b", key_file=Path(__file__), environ={})
    with pytest.raises(ConfigError, match="--prefix"):
        broker_settings("mqtt://b", prefix="lab/#", environ={})
    with pytest.raises(ConfigError, match="--broker: no broker given"):
        broker_settings(None, environ={})
    empty = tmp_path / "empty-password"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="the password file is empty"):
        broker_settings("mqtt://u@b", password_file=empty, environ={})


def test_config_file_and_options_over_it(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    ca = tmp_path / "ca.crt"
    ca.write_text("not checked here\n")
    config = tmp_path / "fleet.yaml"
    config.write_text(f"broker:\n  url: mqtts://broker.lab:8884\n  username: bench-a\n  password_file: {secret}\n"
                      f"  ca_file: {ca}\n  prefix: lab1\n  keepalive_s: 30\n")
    settings = broker_settings(None, config, environ={})
    assert (settings.host, settings.port, settings.tls) == ("broker.lab", 8884, True)
    assert (settings.username, settings.password, settings.ca_file) == ("bench-a", "s3cret", str(ca))
    assert (settings.prefix, settings.keepalive_s) == ("lab1/", 30)
    assert settings.topics.status("a") == "lab1/bench/a/status"
    over = broker_settings("mqtts://other:1", config, username="bench-b", prefix="lab2/", environ={})
    assert (over.host, over.username, over.prefix, over.password) == ("other", "bench-b", "lab2/", "s3cret")


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    ("broker:\n  url: mqtt://b\n  colour: blue\n", 3, "broker.colour", "unknown key"),
    ("broker:\n  url: mqtt://b\n  keepalive_s: soon\n", 3, "broker.keepalive_s", "expected an integer"),
    ("broker:\n  url: ftp://b\n", 2, "broker.url", "mqtt://"),
    ("broker:\n  url: mqtt://b\n  ca_file: /nonexistent/ca.crt\n", 3, "broker.ca_file", "no such file"),
    ("broker:\n  url: mqtt://b\n  password: x\n  password_file: /etc/hostname\n", 3, "broker.password",
     "not both"),
    ("broker:\n  url: mqtt://b\n  prefix: +/x\n", 3, "broker.prefix", "not usable"),
])
def test_config_file_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str,
                                                     message: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_fleet_config(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), line, field)
    assert message in caught.value.message


def test_cli_reports_a_config_error_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("broker:\n  url: mqtt://b\n  keepalive_s: 1\n")
    assert main(["fleet", "--fleet-config", str(path)]) == 2
    out = capsys.readouterr().out
    assert f"{path}:3: broker.keepalive_s: 1 is below the minimum 2" in out
    assert main(["submit", "--broker", "mqtt://127.0.0.1:1", "--cases", "003", "--timeout", "5"]) == 2
    assert "--timeout: only with --wait" in capsys.readouterr().out


def test_a_spec_round_trips_and_bad_fields_are_named() -> None:
    spec = JobSpec("j-1", 10.0, cases=["003"], requires=["type2"], retries=1)
    assert JobSpec.from_payload(json.loads(json.dumps(spec.as_payload())), "j-1") == spec
    bad = {**spec.as_payload(), "retries": -1}
    with pytest.raises(JobError, match=r"job j-1: retries: -1 is below the minimum 0"):
        JobSpec.from_payload(bad)
    with pytest.raises(JobError, match=r"requires: tag 'Type 2' is not usable"):
        JobSpec.from_payload({**spec.as_payload(), "requires": ["Type 2"]})
    with pytest.raises(JobError, match=r"cases\[1\]: expected a string"):
        JobSpec.from_payload({**spec.as_payload(), "cases": ["003", 4]})
    with pytest.raises(JobError, match="colour: unknown field"):
        JobSpec.from_payload({**spec.as_payload(), "colour": "blue"})
    with pytest.raises(JobError, match="submitted_at: missing"):
        JobSpec.from_payload({"format": 1, "id": "j-1"})
    with pytest.raises(JobError, match="does not match the topic's job id"):
        JobSpec.from_payload(spec.as_payload(), "j-2")


def test_make_spec_checks_the_selection_and_carries_the_pics() -> None:
    spec = make_spec(["003"], None, None, ROOT / "pics" / "sim.yaml", ["type2", "type2"], 0, [])
    assert spec.pics is not None and spec.pics["name"] == "sim.yaml" and "hil_sim" in spec.pics["text"]
    assert spec.requires == ["type2"] and spec.submitted_by
    with pytest.raises(JobError, match="cases: no case of .* matches"):
        make_spec(["999"], None, None, None, [], 0, [])
    with pytest.raises(JobError, match="sim_faults: unknown fault"):
        make_spec(["003"], None, None, None, [], 0, ["gremlins"])
    with pytest.raises(ConfigError):
        make_spec(["003"], None, None, Path(__file__), [], 0, [])  # not a PICS file


def test_topics_parse_what_they_build() -> None:
    topics = Topics("lab")
    assert topics.prefix == "lab/"
    assert topics.parse(topics.job("j")) == ("job", "j")
    assert topics.parse(topics.record("a", "j")) == ("record", "a", "j")
    for kind in ("status", "seen", "progress", "results"):
        assert topics.parse(getattr(topics, kind)("a")) == (kind, "a")
    assert topics.parse("benchctl/jobs/j") is None and topics.parse("lab/bench/a/other") is None
    for bad in ("", "/lab", "$SYS", "a/+/b", "a//b"):
        with pytest.raises(ValueError):
            Topics(bad)
