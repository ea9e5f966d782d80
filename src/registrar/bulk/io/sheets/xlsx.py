"""An .xlsx read as a stream: the zip's bounds, the first sheet in workbook order, its declared
dimension, styles and shared strings, then its rows one chunk of XML at a time. Every XML part
goes through expat with any DTD refused (so no entity can be declared, let alone expanded)."""

import re
import zipfile
import zlib
from xml.parsers import expat

from .limits import MAX_MEMBERS, MAX_ROW_TEXT, Limits, Refusal, too_large_cells
from .values import (
    BUILTIN_FORMATS,
    OTHER,
    _unescape,
    column_index,
    format_kind,
    iso_text,
    serial_text,
)

HEAD_BYTES = 1 << 16  # inflated bytes of a sheet read to find its <dimension>
META_BYTES = 1 << 20  # inflated bytes of a rels or workbook part read in the parent
CHUNK = 1 << 16
BATCH_CHARS = 1 << 22  # rows are handed on once they hold this much text
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Refusal("unreadable_file", "not a valid spreadsheet (zip) file") from None


def check_zip(zf: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse, from the central directory alone, a zip that would inflate past the bound."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise Refusal(
            "file_too_large", f"the zip holds {len(infos):,} files; at most {MAX_MEMBERS:,}"
        )
    total = 0
    for i in infos:
        total += i.file_size
        if limits.max_bytes and i.file_size > limits.max_bytes:
            raise Refusal(
                "file_too_large",
                f"{i.filename} would inflate to {i.file_size:,} bytes; the limit is "
                f"{limits.max_bytes:,} (REGISTRAR_MAX_UNZIPPED_BYTES)",
            )
    if limits.max_bytes and total > limits.max_bytes:
        raise Refusal(
            "file_too_large",
            f"the spreadsheet would inflate to {total:,} bytes; the limit is "
            f"{limits.max_bytes:,} (REGISTRAR_MAX_UNZIPPED_BYTES)",
        )


def find_member(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """A member by name, case-insensitively and with either slash (as calamine looks up)."""
    wanted = name.replace("\\", "/").lower()
    for i in zf.infolist():
        if i.filename.replace("\\", "/").lower() == wanted:
            return i
    return None


class _Stop(Exception):
    """Raised by a handler that has what it came for."""


def _refuse_dtd(*_args):
    raise Refusal("unreadable_file", "the spreadsheet's XML declares a DTD")


def xml_parser() -> expat.XMLParserType:
    """An expat parser that refuses any DTD, so no entity can be declared or fetched."""
    p = expat.ParserCreate()
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_dtd
    p.ExternalEntityRefHandler = _refuse_dtd
    p.buffer_text = True
    return p


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def parse_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, parser, limit: int = 0, progress=None
) -> bool:
    """Feed a member to `parser` in chunks; False when it stopped early (_Stop or `limit`)."""
    fed = 0
    try:
        with zf.open(info) as f:
            while chunk := f.read(CHUNK):
                fed += len(chunk)
                try:
                    parser.Parse(chunk, False)
                except _Stop:
                    return False
                if progress:
                    progress(fed)
                if limit and fed >= limit:
                    return False
            parser.Parse(b"", True)
    except _Stop:
        return False
    except expat.ExpatError as e:
        raise Refusal("unreadable_file", f"{info.filename} is not valid XML ({e})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise Refusal("unreadable_file", f"{info.filename} is damaged ({e})") from None
    return True


def _scan(zf, name: str, start, limit: int = META_BYTES) -> bool:
    """Parse a small member with only a start-element handler; False when it is absent."""
    info = find_member(zf, name)
    if info is None:
        return False
    p = xml_parser()
    p.StartElementHandler = start
    parse_member(zf, info, p, limit)
    return True


# --- the workbook ---------------------------------------------------------------------------


class Book:
    """Where the first sheet is (calamine's get_sheet_by_index(0)) and the date system."""

    def __init__(self, xl_dir: str, sheet: zipfile.ZipInfo | None, is_1904: bool):
        self.xl_dir, self.sheet, self.is_1904 = xl_dir, sheet, is_1904


def first_sheet(zf: zipfile.ZipFile) -> Book:
    """The first sheet in workbook order, resolved through workbook.xml.rels."""
    target = []

    def root_rel(name, attrs):
        if _local(name) == "Relationship" and attrs.get("Type", "").endswith(
            "/relationships/officeDocument"
        ):
            target.append(attrs.get("Target", ""))

    _scan(zf, "_rels/.rels", root_rel)
    xl_dir = "xl/"
    if target and "/" in target[-1]:
        t = target[-1]
        xl_dir = t[: t.rfind("/") + 1].removeprefix("/")
    sheets, flags = [], {}

    def workbook(name, attrs):
        tag = _local(name)
        if tag == "workbookPr":
            flags["1904"] = attrs.get("date1904") in ("1", "true")
        elif tag == "sheet":
            sheets.append(next((v for k, v in attrs.items() if _local(k) == "id"), ""))
            raise _Stop

    _scan(zf, f"{xl_dir}workbook.xml", workbook)
    is_1904 = flags.get("1904", False)
    if not sheets:
        return Book(xl_dir, None, is_1904)
    rels = {}

    def relationship(name, attrs):
        if _local(name) == "Relationship" and attrs.get("Id") == sheets[0]:
            rels["target"] = attrs.get("Target", "")
            raise _Stop

    if not _scan(zf, f"{xl_dir}_rels/workbook.xml.rels", relationship):
        raise Refusal("unreadable_file", f"the workbook has no {xl_dir}_rels/workbook.xml.rels")
    if "target" not in rels:
        raise Refusal("unreadable_file", "the workbook's first sheet has no relationship")
    t = rels["target"]
    path = t[1:] if t.startswith("/") else f"{xl_dir}{t}"
    info = find_member(zf, path)
    if info is None:
        raise Refusal("unreadable_file", f"the workbook's first sheet ({path}) is missing")
    return Book(xl_dir, info, is_1904)


def declared_dimension(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int] | None:
    """The sheet's <dimension ref> and how many cells it spans, from the first KiBs only."""
    found = []

    def start(name, attrs):
        tag = _local(name)
        if tag == "dimension":
            found.append(attrs.get("ref", ""))
            raise _Stop
        if tag == "sheetData":
            raise _Stop

    p = xml_parser()
    p.StartElementHandler = start
    try:
        parse_member(zf, info, p, HEAD_BYTES)
    except Refusal:
        return None  # the child reports a broken sheet with its full reason
    if not found:
        return None
    parts = found[0].split(":")
    refs = [_REF.fullmatch(p) for p in parts]
    if not 1 <= len(parts) <= 2 or not all(refs):
        return None
    cols = [column_index(m.group(1)) for m in refs]
    rows = [int(m.group(2)) for m in refs]
    cells = (abs(rows[-1] - rows[0]) + 1) * (abs(cols[-1] - cols[0]) + 1)
    return found[0], cells


def check_xlsx(zf: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse an .xlsx whose first sheet declares more cells than the bound."""
    book = first_sheet(zf)
    if book.sheet is None or not limits.max_cells:
        return
    dim = declared_dimension(zf, book.sheet)
    if dim and dim[1] > limits.max_cells:
        raise Refusal(
            "file_too_large",
            f"the sheet declares {dim[1]:,} cells ({dim[0]}); {too_large_cells(limits)}",
        )


def check_file(path: str, kind: str, limits: Limits) -> None:
    """The parent's cheap checks before any child runs (zip directory, declared dimension)."""
    if kind not in ("xlsx", "ods"):
        return
    with open_zip(path) as zf:
        check_zip(zf, limits)
        if kind == "xlsx":
            check_xlsx(zf, limits)


def number_formats(zf: zipfile.ZipFile, xl_dir: str) -> list[int]:
    """Each cell style (cellXfs) as OTHER, DATETIME or TIMEDELTA."""
    info = find_member(zf, f"{xl_dir}styles.xml")
    if info is None:
        return []
    custom: dict[str, str] = {}
    kinds: list[int] = []
    where = {"xfs": False}

    def start(name, attrs):
        tag = _local(name)
        if tag == "numFmt":
            if "numFmtId" in attrs and "formatCode" in attrs:
                custom[attrs["numFmtId"]] = attrs["formatCode"]
        elif tag == "cellXfs":
            where["xfs"] = True
        elif tag == "xf" and where["xfs"]:
            fid = attrs.get("numFmtId")
            if fid is None:
                kinds.append(OTHER)
            elif fid in custom:
                kinds.append(format_kind(custom[fid]))
            else:
                kinds.append(BUILTIN_FORMATS.get(fid, OTHER))

    def end(name):
        if _local(name) == "cellXfs":
            where["xfs"] = False

    p = xml_parser()
    p.StartElementHandler, p.EndElementHandler = start, end
    parse_member(zf, info, p)
    return kinds


def _string_parser(on_string):
    """Handlers for <si> or <is> content: <t> runs joined, phonetic <rPh> runs left out."""
    st = {"parts": None, "buf": None, "rph": 0, "keep": False}

    def start(tag, attrs):
        if tag == "t" and st["parts"] is not None and not st["rph"]:
            st["buf"], st["keep"] = [], attrs.get("xml:space") == "preserve"
        elif tag == "rPh":
            st["rph"] += 1

    def text(data):
        if st["buf"] is not None:
            st["buf"].append(data)

    def end(tag):
        if tag == "t" and st["buf"] is not None:
            s = "".join(st["buf"])
            st["parts"].append(_unescape(s if st["keep"] else s.strip(" \t\r\n")))
            st["buf"] = None
        elif tag == "rPh":
            st["rph"] -= 1

    def begin():
        st["parts"] = []

    def finish() -> str:
        s, st["parts"] = "".join(st["parts"] or ()), None
        on_string(s.strip())
        return s

    return begin, start, text, end, finish


def shared_strings(zf: zipfile.ZipFile, xl_dir: str, limits: Limits) -> list[str]:
    """The shared strings table, each string trimmed; no more entries than cells allowed."""
    info = find_member(zf, f"{xl_dir}sharedStrings.xml")
    if info is None:
        return []
    strings: list[str] = []
    cap = limits.max_cells

    def add(s):
        if cap and len(strings) >= cap:
            raise Refusal(
                "file_too_large",
                f"the shared strings table has more than {cap:,} entries; "
                f"{too_large_cells(limits)}",
            )
        strings.append(s)

    begin, s_start, s_text, s_end, finish = _string_parser(add)

    def start(name, attrs):
        tag = _local(name)
        if tag == "si":
            begin()
        else:
            s_start(tag, attrs)

    def end(name):
        tag = _local(name)
        if tag == "si":
            finish()
        else:
            s_end(tag)

    p = xml_parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, s_text
    parse_member(zf, info, p)
    return strings


# --- streaming the first sheet --------------------------------------------------------------


def xlsx_rows(zf: zipfile.ZipFile, book: Book, limits: Limits, sink, progress) -> None:
    """Stream the first sheet: `sink(rows)` gets lists [row number, cell, ...] of non-blank
    rows, cells placed by their column; cells without a value neither count nor widen a row.
    The handlers are long and flat on purpose: they run for every element of the sheet."""
    if book.sheet is None:
        return
    strings = shared_strings(zf, book.xl_dir, limits)
    formats = number_formats(zf, book.xl_dir)
    is_1904 = book.is_1904
    n_strings = len(strings)
    max_cells, max_cols = limits.max_cells or 1 << 62, limits.max_columns or 1 << 62
    max_text = limits.max_bytes or 1 << 62
    styles: dict[str | None, int] = {None: OTHER}
    columns: dict[str, int] = {}
    dates: dict[tuple[str, int], str] = {}
    out: list[list] = []
    cells = chars_total = pending = 0
    row: list | None = None  # [row number, cell, ...] of the row being read
    row_n = row_chars = col = nxt = 0
    ref = ctype = cstyle = vtext = is_text = None
    in_v = in_t = in_is = keep = False
    rph = 0
    tbuf = ""
    parts: list[str] = []

    def style_kind(s):
        try:
            i = int(s)
        except ValueError:
            i = 0
        k = formats[i] if 0 <= i < len(formats) else OTHER
        if len(styles) < 65536:
            styles[s] = k
        return k

    def value_text() -> str:
        t, v = ctype, vtext
        if t is None or t == "n":
            kind = styles.get(cstyle)
            if kind is None:
                kind = style_kind(cstyle)
            if kind == OTHER and len(v) < 16 and v.isdigit() and v.isascii():
                return str(int(v))
            try:
                f = float(v)
            except ValueError:
                if t is None:
                    return v.strip()
                raise Refusal(
                    "unreadable_file", f"cell {ref}: {v[:40]!r} is not a number"
                ) from None
            if kind == OTHER:
                return str(int(f)) if f.is_integer() else repr(f)
            key = (v, kind)
            s = dates.get(key)
            if s is None:
                s = serial_text(f, kind, is_1904)
                if len(dates) > 100_000:
                    dates.clear()
                dates[key] = s
            return s
        if t == "s":
            try:
                i = int(v)
            except ValueError:
                i = 0  # as calamine reads an index that is not a number
            if 0 <= i < n_strings:
                return strings[i]
            raise Refusal(
                "unreadable_file",
                f"cell {ref} refers to shared string {i:,}; the file has {n_strings:,}",
            )
        if t == "str":
            return v.strip()
        if t == "b":
            return "0" if v == "0" else "1"
        if t == "e" or t == "inlineStr":
            return ""  # calamine reads an error cell as empty
        if t == "d":
            return iso_text(v)
        raise Refusal("unreadable_file", f"cell {ref} has an unknown type {t[:20]!r}")

    def start(tag, attrs):
        nonlocal row, row_n, row_chars, col, nxt, ref, ctype, cstyle, vtext, is_text
        nonlocal in_v, in_t, in_is, keep, rph, tbuf, parts
        if tag == "c":
            if row is None:
                return
            ref = attrs.get("r")
            letters = ref.rstrip("0123456789") if ref else ""
            if letters:
                c = columns.get(letters)
                if c is None:
                    if len(letters) > 3 or not letters.isalpha() or not letters.isascii():
                        raise Refusal("unreadable_file", f"{ref[:20]!r} is not a cell reference")
                    c = columns[letters] = column_index(letters)
                col = c
            else:
                col = nxt
            nxt = col + 1
            ctype, cstyle = attrs.get("t"), attrs.get("s")
            vtext = is_text = None
        elif tag == "v":
            if row is not None:
                in_v, vtext = True, ""
        elif tag == "t":
            if in_is and not rph:
                in_t, tbuf, keep = True, "", attrs.get("xml:space") == "preserve"
        elif tag == "is":
            if row is not None:
                in_is, parts = True, []
        elif tag == "row":
            r = attrs.get("r")
            try:
                n = int(r) if r else row_n + 1
            except ValueError:
                raise Refusal("unreadable_file", f"{r[:20]!r} is not a row number") from None
            if n <= row_n:
                raise Refusal("unreadable_file", f"row {n:,} comes after row {row_n:,}")
            row_n, row, row_chars, nxt = n, [n], 0, 0
        elif tag == "rPh":
            rph += 1

    def chars(data):
        nonlocal vtext, tbuf
        if in_v:
            vtext += data
        elif in_t:
            tbuf += data

    def end(tag):
        nonlocal row, row_chars, cells, chars_total, pending, in_v, in_t, in_is, rph, is_text
        if tag == "c":
            if row is None:
                return
            if is_text is not None:
                text = is_text
            elif not vtext:
                return
            elif ctype == "s" and vtext.isdigit() and int(vtext) < n_strings:
                text = strings[int(vtext)]
            else:
                text = value_text()
            if not text:
                return
            if col >= max_cols:
                raise Refusal(
                    "file_too_large",
                    f"cell {ref or '#' + str(col + 1)} in row {row_n:,} is in column "
                    f"{col + 1:,}; a row may have at most {max_cols:,} columns "
                    "(REGISTRAR_MAX_SHEET_COLUMNS)",
                )
            width = len(row) - 1
            if col == width:
                row.append(text)
            elif col > width:
                row.extend([""] * (col - width))
                row.append(text)
            else:
                row[col + 1] = text
            row_chars += len(text)
            if row_chars > MAX_ROW_TEXT:
                raise Refusal(
                    "file_too_large", f"row {row_n:,} holds more than {MAX_ROW_TEXT:,} characters"
                )
        elif tag == "v":
            in_v = False
        elif tag == "t":
            if in_t:
                in_t = False
                s = tbuf if keep else tbuf.strip(" \t\r\n")
                parts.append(_unescape(s) if "_x00" in s else s)
        elif tag == "is":
            if in_is:
                in_is = False
                is_text = "".join(parts).strip()
        elif tag == "row":
            if row is not None and len(row) > 1:
                cells += len(row) - 1
                if cells > max_cells:
                    raise Refusal(
                        "file_too_large",
                        f"the sheet has more than {max_cells:,} cells (each row counted up to "
                        f"its last value); {too_large_cells(limits)}",
                    )
                chars_total += row_chars
                if chars_total > max_text:
                    raise Refusal(
                        "file_too_large",
                        f"the sheet's cells hold more than {max_text:,} characters; the limit "
                        "is REGISTRAR_MAX_UNZIPPED_BYTES",
                    )
                out.append(row)
                pending += row_chars
                if pending >= BATCH_CHARS:
                    sink(out)
                    out.clear()
                    pending = 0
            row = None
        elif tag == "rPh":
            rph -= 1
        elif tag == "sheetData":
            raise _Stop  # what follows the data (merged cells, page setup) is not needed

    p = xml_parser()
    _unprefixed(p, start, end)
    p.CharacterDataHandler = chars
    size = book.sheet.file_size or 1

    def chunk_done(fed):
        nonlocal pending
        if out:
            sink(out)
            out.clear()
            pending = 0
        progress(min(1.0, fed / size))

    parse_member(zf, book.sheet, p, progress=chunk_done)
    if out:
        sink(out)
        out.clear()


def _unprefixed(p, start, end) -> None:
    """Give `start` and `end` local names: the raw ones when the root element has no prefix
    (as Excel writes), else names with their prefix taken off (x:c becomes c)."""

    def first(name, attrs):
        if ":" in name:
            p.StartElementHandler = lambda n, a: start(_local(n), a)
            p.EndElementHandler = lambda n: end(_local(n))
        else:
            p.StartElementHandler, p.EndElementHandler = start, end
        p.StartElementHandler(name, attrs)

    p.StartElementHandler = first
    p.EndElementHandler = end
