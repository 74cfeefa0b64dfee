"""The crash-safe results table (sims.results)."""


import pytest

from sims.results import ResultsTable, read_table


def test_partial_last_line_is_dropped_and_header_checked(tmp_path):
    path = tmp_path / "results.csv"
    table = ResultsTable(path, ["a", "b"])
    table.append({"a": 1, "b": "x,y"})
    with path.open("ab") as f:
        f.write(b"2,half-writ")  # a crash in the middle of a row
    assert read_table(path)[1] == [{"a": "1", "b": "x,y"}]
    table = ResultsTable(path, ["a", "b"])
    table.append({"a": 3})
    assert path.read_text() == 'a,b\n1,"x,y"\n3,\n'
    with pytest.raises(ValueError, match="columns"):
        ResultsTable(path, ["a", "c"])
    with pytest.raises(ValueError, match="not in the table"):
        table.append({"z": 1})
