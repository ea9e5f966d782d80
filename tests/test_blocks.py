"""A CSV file read as columns (bulk.io.blocks, CsvTable.blocks) gives the rows, numbers and
errors the record-by-record reader gives; the results written from a frame are the bytes
csv.writer writes."""

import csv
import io
import random
import sys

import numpy as np
import polars as pl
import pytest

from registrar.bulk.io import readers
from registrar.bulk.io.blocks import Block, cut
from registrar.bulk.io.writers import TableWriter
from registrar.core.errors import FileError

PIECES = ["a", "b", "é", " ", "\t", ";", ",", "", "x y", "=1", "\u2028", "\x85", "\x1c", "\xa0"]
RARE = ['"', "\r", "\x00", "\n", "\r\n", '""', '"a;b"']


def by_records(path, header):
    try:
        t = readers.CsvTable(str(path), header=header)
    except FileError as e:
        return None, None, (e.code, str(e))
    try:
        return t.headers, list(t.rows()), None
    except FileError as e:
        return t.headers, None, (e.code, str(e))
    finally:
        t.close()


def by_blocks(path, header, width, size):
    try:
        t = readers.CsvTable(str(path), header=header)
    except FileError as e:
        return None, None, (e.code, str(e))
    try:
        out = []
        for b in t.blocks(width or len(t.headers), size):
            assert len(b) <= size
            rows = [(int(n), list(r)) for n, r in zip(b.numbers, b.frame.rows(), strict=True)]
            out.extend(sorted(rows + b.odd))
        return t.headers, out, None
    except FileError as e:
        return t.headers, None, (e.code, str(e))
    finally:
        t.close()


def random_file(rng: random.Random, rare: float) -> tuple[str, int]:
    width = rng.randint(1, 5)
    lines = []
    for _ in range(rng.randint(0, 60)):
        k = rng.choice([width] * 6 + [0, 1, width + 1, width - 1])
        cells = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3))) for _ in range(k)]
        line = ";".join(cells)
        if rng.random() < rare:
            line += rng.choice(RARE)
        lines.append(line)
    end = rng.choice(["\n", "\r\n"])
    head = ";".join(["h"] * width)
    return head + end + end.join(lines) + rng.choice([end, ""]), width


@pytest.mark.parametrize("rare", [0.0, 0.02, 0.2])
def test_blocks_give_the_rows_numbers_and_errors_of_the_record_reader(tmp_path, monkeypatch, rare):
    rng = random.Random(f"blocks-{rare}")
    path = tmp_path / "f.csv"
    for _ in range(150):
        text, width = random_file(rng, rare)
        encoding = rng.choice(["utf-8", "utf-8-sig", "cp1252", "utf-16"])
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
        path.write_bytes(data)
        header = rng.random() < 0.8
        monkeypatch.setattr(readers, "LINE_LIMIT", rng.choice([1 << 24, 1 << 24, 8, 13, 30]))
        want = by_records(path, header)
        monkeypatch.setattr(readers, "CHUNK_CHARS", rng.choice([1, 7, 50, 1 << 22]))
        got = by_blocks(path, header, None if header else width, rng.choice([1, 3, 50, 10_000]))
        monkeypatch.undo()
        assert got == want, text


def test_blocks_of_a_file_with_a_long_line_refuse_it_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "LINE_LIMIT", 1000)
    path = tmp_path / "f.csv"
    path.write_text("a;b\n1;2\n" + "x" * 999 + ";y\n3;4\n")
    with pytest.raises(FileError) as e:
        list(readers.CsvTable(str(path)).blocks(2, 10))
    assert e.value.code == "file_too_large" and "line 3" in e.value.params["reason"]


def test_blocks_of_a_file_with_a_nul_refuse_it_naming_the_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a;b\n1;2\n3;4\x00\n")
    with pytest.raises(FileError) as e:
        list(readers.CsvTable(str(path)).blocks(2, 10))
    assert e.value.code == "unreadable_file" and "line 3" in e.value.params["reason"]


def test_blocks_of_an_unbalanced_quote_refuse_it_naming_the_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a;b;c\n1;2;3\n" + '4;"5;6\n' + "7;8;9\n" * 5)
    with pytest.raises(FileError) as e:
        list(readers.CsvTable(str(path)).blocks(3, 10))
    assert e.value.code == "unbalanced_quote" and e.value.params["line"] == 3


def test_the_trimmed_characters_are_those_str_strip_removes():
    every = "".join(chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace())
    assert every == readers.WHITESPACE


def test_cut_gives_every_row_once_in_order_in_blocks_of_the_size():
    rng = random.Random("cut")
    pieces, n = [], 0
    for _ in range(40):
        rows = []
        for _ in range(rng.randint(0, 9)):
            n += 1
            rows.append((n, ["x", str(n)] if rng.random() < 0.8 else [str(n)]))
        pieces.append(Block.of_rows(rows, 2))
    for size in (1, 2, 7, 1000):
        blocks = list(cut(pieces, size))
        assert all(len(b) == size for b in blocks[:-1]) and 0 < len(blocks[-1]) <= size
        numbers = []
        for b in blocks:
            numbers += sorted([*b.numbers.tolist(), *(m for m, _ in b.odd)])
            assert [r[1] for r in b.frame.rows()] == [str(m) for m in b.numbers.tolist()]
        assert numbers == list(range(1, n + 1))


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_a_frame_is_written_as_csv_writer_writes_its_rows(tmp_path, delimiter):
    rng = random.Random(f"frame-{delimiter}")
    chars = ["a", "é", ";", ",", "\t", '"', "\n", "\r", " ", "=", "", "'", "\x85"]
    texts = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 4))) for _ in range(5000)]
    frame = pl.DataFrame(
        {
            "a": texts,
            "row": np.arange(len(texts), dtype=np.int64),
            "b": texts[::-1],
        }
    )
    w = TableWriter(str(tmp_path / "r.csv"), "csv", delimiter)
    w.write_frame(frame)
    w.close()
    want = io.StringIO()
    csv.writer(want, delimiter=delimiter).writerows(frame.rows())
    assert (tmp_path / "r.csv").read_bytes() == want.getvalue().encode("utf-8-sig")
