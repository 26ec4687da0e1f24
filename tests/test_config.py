"""Settings: TOML parsing, errors with file and line, and every setting documented."""

from pathlib import Path

import pytest

from journeymap.config import Settings, iter_settings_help, load_settings, settings_from_toml
from journeymap.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_help_and_is_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    for name, _type, _default, help_text in iter_settings_help():
        assert help_text, f"setting {name} has no help text"
        assert f"`{name}`" in readme, f"setting {name} is missing from the README config reference"


@pytest.mark.parametrize("text, line, field, message", [
    ("[ingest]\nmax_reject_rate = 2\n", 2, "ingest.max_reject_rate", "less than or equal to 1"),
    ("[ingest]\nbatch_rowz = 5\n", 2, "ingest.batch_rowz", "unknown setting 'batch_rowz'"),
    ("[store]\npath = 'a'\n[privacy]\nhash_emails = 'maybe'\n", 4, "privacy.hash_emails", "valid boolean"),
    ("[nonsense]\nx = 1\n", 1, "nonsense", "unknown setting 'nonsense'"),
    ("[ingest\n", 1, None, "not valid TOML"),
])
def test_bad_settings_name_the_line_and_the_setting(text, line, field, message):
    with pytest.raises(ConfigError) as info:
        settings_from_toml(text, file="journeymap.toml")
    err = info.value
    assert (err.line, err.field) == (line, field)
    assert message in str(err) and str(err).startswith(f"journeymap.toml:{line}")


def test_toml_values_reach_the_settings(tmp_path):
    path = tmp_path / "journeymap.toml"
    path.write_text('[ingest]\nmap = {customer = "user_id", ts = "timestamp"}\n'
                    '[identity]\nmax_customers_per_identifier = 3\n'
                    '[[channels.rules]]\nname = "partners"\nchannel = "affiliate"\nwhen = {utm_source = ["partnerco"]}\n')
    settings = load_settings(path)
    assert settings.ingest.map == {"customer": "user_id", "ts": "timestamp"}
    assert settings.identity.max_customers_per_identifier == 3
    assert settings.channels.rules[0].channel == "affiliate"
    assert load_settings(None) == Settings() or Path("journeymap.toml").exists()


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
