import json

from typer.testing import CliRunner

from prereview.cli import app

runner = CliRunner()


def test_unknown_service_is_one_clear_line(tmp_path):
    upload = tmp_path / "a.jpg"
    upload.write_bytes(b"\xff\xd8\xff")
    result = runner.invoke(app, ["check", "--service", "no-such", str(upload)])
    assert result.exit_code == 2
    assert "unknown service 'no-such'" in result.output and "Traceback" not in result.output


def test_bad_inputs_are_one_line_errors(tmp_path):
    upload = tmp_path / "a.jpg"
    upload.write_bytes(b"\xff\xd8\xff")
    for arguments, message in [
        (["check", "--service", "zfgjj-tq-zf", "--facts", "[1", str(upload)], "--facts is not valid JSON"),
        (["check", "--service", "zfgjj-tq-zf", "--date", "24/11/2026", str(upload)], "--date must be YYYY-MM-DD"),
        (["check", "--service", "zfgjj-tq-zf", "--form", str(tmp_path / "none.json"), str(upload)], "form file not found"),
        (["inspect", str(tmp_path / "missing.jpg")], "file not found"),
    ]:
        result = runner.invoke(app, arguments)
        assert result.exit_code == 2, arguments
        assert message in result.output and "Traceback" not in result.output


def test_inspect_json_on_the_real_id_specimen(shared_data):
    path = shared_data / "zh_document_images" / "images" / "chineseocr_idcard-demo.jpeg"
    result = runner.invoke(app, ["inspect", str(path), "--json", "--date", "2026-11-24"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert "materials" not in report and report["verdict"] == "needs_fix"
    assert {"id_number_invalid", "id_birthdate_mismatch"} <= {f["code"] for f in report["findings"]}


def test_check_prints_a_readable_table(tmp_path):
    from prereview.corpus import generate_application

    files, form, facts, _ = generate_application("zfgjj-tq-zf", 31, ["missing_material"])
    paths = []
    for name, data in files[:1]:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    (tmp_path / "form.json").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["check", "--service", "zfgjj-tq-zf", "--form", str(tmp_path / "form.json"),
                                 "--date", "2026-11-24", *paths])
    assert result.exit_code == 0, result.output
    assert "needs fix" in result.output and "material_missing" in result.output
