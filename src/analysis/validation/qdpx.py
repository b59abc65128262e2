"""REFI-QDA exchange: the coding as a ``.qdpx`` project for NVivo, MAXQDA,
ATLAS.ti or QualCoder, and a project's coding read back.

:func:`export_qdpx` takes the documents table (with ``text``), the claims
table and the codebook and writes a ``.qdpx`` (a zip of ``project.qde``, XML
valid against the REFI-QDA Project schema of 2019, and ``sources/``). Its
codebook mirrors ours: one code per claim type holding its categories, and
code groups for certainty, procedures and conditions. Each document is a
plain-text source; each claim is a plain-text selection over its sentence at
its character offsets, coded with its category, certainty, procedures and
conditions, with a memo (a note) naming the cue and the rule. GUIDs are
derived from the content, so the same input gives the same project.

:func:`import_qdpx` reads a project back, mapping codes by name (id or label,
any case) and returns ``(gold, unmapped)``: the gold table (``doc, sentence,
type, category, certainty, procedures, conditions``) of every selection
coded with a category, and the names of the codes it could not map.
:func:`read_project_details` reads what travels beside the coding: each
code's description (a category's carries the guidelines' definition and
examples), the cases with their attributes (the documents' metadata, as
REFI-QDA variables) and each selection's note (cue, model probability,
rule).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as DefusedET
import pandas as pd
from defusedxml import DefusedXmlException

from analysis import config
from analysis.codebook import Codebook
from analysis.errors import QdpxError
from analysis.files import atomic_write
from analysis.schema import CERTAINTIES, CODING_COLUMNS
from analysis.segment import MAX_SENTENCE_CHARS

NS = "urn:QDA-XML:project:1.0"
NAMESPACE = uuid.UUID("6f1c6c1e-3d2a-4f55-9a53-5c1a1f0c2b7e")  # claimscope's GUID space
GROUPS = ("certainty", "procedure", "condition")


# XML 1.0 forbids the control characters but tab, line feed and carriage
# return, even escaped. In names and notes they travel as private-use
# characters (U+E000 + code) that import turns back, so a corpus's odd file
# names come back as they went; U+FFFE and U+FFFF become U+FFFD.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CARRIED = re.compile("[\ue000-\ue008\ue00b\ue00c\ue00e-\ue01f]")
# What reading a project may inflate: its XML and each source's text.
MAX_MEMBER_BYTES = config.MAX_UNPACKED_BYTES


def xml_safe(text: object) -> str:
    """``text`` with what XML 1.0 cannot hold carried as private-use characters."""
    return XML_FORBIDDEN.sub(
        lambda m: chr(0xE000 + ord(m.group())) if m.group() < " " else "\ufffd", str(text)
    )


def from_xml(text: str) -> str:
    """The text :func:`xml_safe` was given."""
    return CARRIED.sub(lambda m: chr(ord(m.group()) - 0xE000), text)


def guid(*parts: object) -> str:
    """A stable GUID for the thing these parts name."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(map(str, parts)))).upper()


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _codebook_tree(codebook: Codebook) -> tuple[ET.Element, dict[tuple[str, str], str]]:
    """<CodeBook> and the GUID of each (group, id) code."""
    book = ET.Element(_q("CodeBook"))
    codes = ET.SubElement(book, _q("Codes"))
    refs: dict[tuple[str, str], str] = {}

    def code(parent: ET.Element, group: str, cid: str, codable: bool, text: str = "") -> ET.Element:
        g = guid("code", group, cid)
        refs[(group, cid)] = g
        el = ET.SubElement(
            parent, _q("Code"), guid=g, name=cid, isCodable="true" if codable else "false"
        )
        if text:
            ET.SubElement(el, _q("Description")).text = text
        return el

    for type_id, label in codebook.types.items():
        parent = code(codes, "type", type_id, False, label)
        for category in codebook.categories:
            if category.type == type_id:
                text = category.label + (
                    f": {category.description}" if category.description else ""
                )
                code(parent, "category", category.id, True, text)
    parent = code(codes, "group", "certainty", False, "How firmly the claim is made")
    for certainty in CERTAINTIES:
        code(parent, "certainty", certainty, True)
    for group, lexicon in (("procedure", codebook.procedures), ("condition", codebook.conditions)):
        parent = code(codes, "group", group, False, f"The {group} a claim is about")
        for cid, label in lexicon.labels.items():
            code(parent, group, cid, True, label)
    return book, refs


PROBABILITY = re.compile(r"model p=([0-9.]+)")
VARIABLE_TYPES = {"Integer": "IntegerValue", "Float": "FloatValue", "Text": "TextValue"}


def _cases(documents: pd.DataFrame) -> tuple[ET.Element, ET.Element]:
    """<Variables> (the documents' metadata columns, their title and words)
    and <Cases> (a case per document, named by its short id, with its values
    and a reference to its source)."""
    from analysis.metadata import metadata_columns
    from analysis.schema import document_ids

    variables = ET.Element(_q("Variables"))
    cases = ET.Element(_q("Cases"))
    own = [c for c in ("title", "words") if c in documents.columns]
    columns = own + metadata_columns(documents)
    kinds = {}
    for column in columns:
        values = documents[column]
        if pd.api.types.is_integer_dtype(values):
            kind = "Integer"
        elif pd.api.types.is_float_dtype(values):
            kind = "Float"
        else:
            kind = "Text"
        kinds[column] = kind
        ET.SubElement(
            variables,
            _q("Variable"),
            guid=guid("variable", column),
            name=str(column),
            typeOfVariable=kind,
        )
    ids = document_ids(documents)
    for row in documents.to_dict("records"):
        case = ET.SubElement(
            cases, _q("Case"), guid=guid("case", row["doc"]), name=str(ids[row["doc"]])
        )
        for column in columns:
            value = row[column]
            if value is None or value == "" or (isinstance(value, float) and value != value):
                continue
            holder = ET.SubElement(case, _q("VariableValue"))
            ET.SubElement(holder, _q("VariableRef"), targetGUID=guid("variable", column))
            ET.SubElement(holder, _q(VARIABLE_TYPES[kinds[column]])).text = str(value)
        ET.SubElement(case, _q("SourceRef"), targetGUID=guid("source", row["doc"], row["sha256"]))
    return variables, cases


def export_qdpx(
    documents: pd.DataFrame,
    claims: pd.DataFrame,
    codebook: Codebook,
    out: str | Path,
    name: str = "claimscope",
) -> Path:
    """Write the documents and their claims as a REFI-QDA project (``out``)."""
    user = guid("user", "claimscope")
    project = ET.Element(
        _q("Project"),
        name=name,
        origin=f"claimscope (codebook {codebook.version})",
        creatingUserGUID=user,
    )
    users = ET.SubElement(project, _q("Users"))
    ET.SubElement(users, _q("User"), guid=user, name="claimscope")
    book, refs = _codebook_tree(codebook)
    project.append(book)
    variables, cases = _cases(documents)
    if len(variables):
        project.append(variables)
        project.append(cases)
    sources = ET.SubElement(project, _q("Sources"))
    notes = ET.Element(_q("Notes"))
    files: dict[str, str] = {}
    grouped = claims.groupby(["doc", "start", "end", "type", "category"], sort=True)
    by_doc: dict[str, list] = {}
    for (doc, start, end, _, category), rows in grouped:
        by_doc.setdefault(doc, []).append((int(start), int(end), category, rows))
    for doc, sha, text in zip(
        documents["doc"], documents["sha256"], documents["text"], strict=True
    ):
        source_guid = guid("source", doc, sha)
        files[f"sources/{source_guid}.txt"] = text
        source = ET.SubElement(
            sources,
            _q("TextSource"),
            guid=source_guid,
            name=xml_safe(doc),
            plainTextPath=f"internal://{source_guid}.txt",
        )
        for start, end, category, rows in by_doc.get(doc, []):
            first = rows.iloc[0]
            sel_guid = guid("selection", source_guid, start, end, category)
            selection = ET.SubElement(
                source,
                _q("PlainTextSelection"),
                guid=sel_guid,
                name=f"{first['type']}: {category}",
                startPosition=str(start),
                endPosition=str(end),
            )
            coded = [("category", category), ("certainty", first["certainty"])]
            coded += [("procedure", p) for p in dict.fromkeys(rows["procedure"]) if p]
            coded += [("condition", c) for c in dict.fromkeys(rows["condition"]) if c]
            for group, cid in coded:
                coding = ET.SubElement(
                    selection, _q("Coding"), guid=guid("coding", sel_guid, group, cid)
                )
                ET.SubElement(coding, _q("CodeRef"), targetGUID=refs[(group, cid)])
            note_guid = guid("note", sel_guid)
            ET.SubElement(selection, _q("NoteRef"), targetGUID=note_guid)
            cue = xml_safe(first["cue"])
            rule = str(first.get("rule", ""))
            found = PROBABILITY.search(rule)
            note = ET.SubElement(notes, _q("Note"), guid=note_guid, name=f"cue: {cue}")
            ET.SubElement(note, _q("PlainTextContent")).text = (
                f"cue: {cue}\nmodel probability: {found.group(1) if found else 'none (rules alone)'}"
                f"\nrule: {xml_safe(rule)}"
            )
    if len(notes):
        project.append(notes)
    for el in project.iter():  # codebook labels and names too: all text is made safe
        el.attrib.update({k: xml_safe(v) for k, v in el.attrib.items()})
        if el.text:
            el.text = xml_safe(el.text)
    ET.register_namespace("", NS)
    xml = ET.tostring(project, encoding="utf-8", xml_declaration=True)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("project.qde", xml)
            for path, text in files.items():
                z.writestr(path, text.encode("utf-8"))

    return atomic_write(out, write)


def _names(codebook: Codebook) -> dict[str, tuple[str, str]]:
    """Code name (id or label, lower case) -> (group, id)."""
    names: dict[str, tuple[str, str]] = {}
    for c in codebook.categories:
        names[c.id.lower()] = names[c.label.lower()] = ("category", c.id)
    for certainty in CERTAINTIES:
        names[certainty] = ("certainty", certainty)
    for group, lexicon in (("procedure", codebook.procedures), ("condition", codebook.conditions)):
        for cid, label in lexicon.labels.items():
            names.setdefault(cid.lower(), (group, cid))
            names.setdefault(label.lower(), (group, cid))
    return names


def _open_project(path: Path) -> tuple[zipfile.ZipFile, ET.Element]:
    """A project's archive and its parsed project.qde (defusedxml, capped)."""
    try:
        archive = zipfile.ZipFile(path)
        root = DefusedET.fromstring(_member(archive, "project.qde", path))
    except (OSError, zipfile.BadZipFile, KeyError, ET.ParseError, DefusedXmlException) as exc:
        raise QdpxError(f"{path}: not a REFI-QDA project (.qdpx with project.qde): {exc}") from exc
    return archive, root


def import_qdpx(path: str | Path, codebook: Codebook) -> tuple[pd.DataFrame, list[str]]:
    """The gold table of a project's coded selections, and the code names
    that map to nothing of the codebook (see the module docstring)."""
    path = Path(path)
    archive, root = _open_project(path)
    names = _names(codebook)
    codes: dict[str, tuple[str, str] | None] = {}
    unmapped: list[str] = []
    groups = {("type", t) for t in codebook.types} | {("group", g) for g in GROUPS}
    for el in root.iter(_q("Code")):
        name = el.get("name", "")
        mapped = names.get(name.strip().lower())
        codes[el.get("guid", "").upper()] = mapped
        is_group = (("type", name) in groups or ("group", name) in groups) and el.find(
            _q("Code")
        ) is not None
        if mapped is None and not is_group:
            unmapped.append(name)
    categories = {c.id: c.type for c in codebook.categories}
    rows = []
    for source in root.iter(_q("TextSource")):
        text = _source_text(archive, source, path)
        for selection in source.iter(_q("PlainTextSelection")):
            start, end = _positions(selection, path)
            if end - start > MAX_SENTENCE_CHARS:  # a claim is one sentence, not a source
                raise QdpxError(
                    f"{path}: selection {selection.get('guid', '?')!r} spans "
                    f"{end - start:,} characters; a coded claim is one sentence (at most "
                    f"{MAX_SENTENCE_CHARS:,})"
                )
            found: dict[str, list[str]] = {g: [] for g in ("category", *GROUPS)}
            for ref in selection.iter(_q("CodeRef")):
                mapped = codes.get(ref.get("targetGUID", "").upper())
                if mapped:
                    found[mapped[0]].append(mapped[1])
            for category in dict.fromkeys(found["category"]):
                rows.append(
                    {
                        "doc": from_xml(source.get("name", "")),
                        "sentence": text[start:end],
                        "type": categories[category],
                        "category": category,
                        "certainty": (found["certainty"] or ["asserted"])[0],
                        "procedures": sorted(set(found["procedure"])),
                        "conditions": sorted(set(found["condition"])),
                    }
                )
    return pd.DataFrame(rows, columns=CODING_COLUMNS), sorted(set(unmapped))


def _source_text(archive: zipfile.ZipFile, source: ET.Element, path: Path) -> str:
    """A text source's plain text: inline, or its file under sources/."""
    inline = source.find(_q("PlainTextContent"))
    if inline is not None and inline.text is not None:
        return inline.text
    where = source.get("plainTextPath", "")
    if where.startswith("internal://"):
        member = "sources/" + PurePosixPath(where[len("internal://") :]).name
        try:
            return _member(archive, member, path).decode("utf-8-sig")
        except KeyError:
            raise QdpxError(f"{path}: source {source.get('name')!r} lacks {member}") from None
        except UnicodeDecodeError:
            raise QdpxError(f"{path}: {member} is not UTF-8 text") from None
    return ""  # an external file: selections keep their offsets, no text


def _member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    """A member of the project, inflated up to MAX_MEMBER_BYTES (a zip bomb
    is refused, whatever sizes its headers declare)."""
    try:
        with archive.open(name) as member:
            data = member.read(MAX_MEMBER_BYTES + 1)
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise QdpxError(
            f"{path}: {name} is encrypted ({exc}); export it without a password"
        ) from None
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise QdpxError(f"{path}: {name} is damaged ({exc})") from None
    if len(data) > MAX_MEMBER_BYTES:
        raise QdpxError(
            f"{path}: {name} inflates past {MAX_MEMBER_BYTES:,} bytes; refused (a zip bomb?)"
        )
    return data


def _positions(selection: ET.Element, path: Path) -> tuple[int, int]:
    """A selection's start and end, checked: whole numbers, start <= end."""
    raw = (selection.get("startPosition", "0"), selection.get("endPosition", "0"))
    try:
        start, end = int(raw[0]), int(raw[1])
    except ValueError:
        start = end = -1
    if start < 0 or end < start:
        raise QdpxError(
            f"{path}: selection {selection.get('guid', '?')!r} has positions {raw[0]!r}-{raw[1]!r};"
            " a start and an end are whole numbers, the start first"
        )
    return start, end


def read_project_details(path: str | Path) -> dict[str, pd.DataFrame]:
    """What a project says beside its coding: ``codes`` (``name,
    description``), ``attributes`` (one row per case: ``case``, ``source``
    (the source's name, our ``doc``) and a column per variable) and
    ``notes`` (``source, start, end, code, note``: each selection's note,
    such as the coder's cue, model probability and rule)."""
    path = Path(path)
    _, root = _open_project(path)
    codes = pd.DataFrame(
        [
            {
                "name": from_xml(el.get("name", "")),
                "description": from_xml(el.findtext(_q("Description")) or ""),
            }
            for el in root.iter(_q("Code"))
        ],
        columns=["name", "description"],
    )
    variables = {
        el.get("guid", "").upper(): from_xml(el.get("name", "")) for el in root.iter(_q("Variable"))
    }
    sources = {
        el.get("guid", "").upper(): from_xml(el.get("name", ""))
        for el in root.iter(_q("TextSource"))
    }
    rows = []
    for case in root.iter(_q("Case")):
        row = {"case": from_xml(case.get("name", ""))}
        ref = case.find(_q("SourceRef"))
        row["source"] = sources.get(
            (ref.get("targetGUID", "") if ref is not None else "").upper(), ""
        )
        for holder in case.iter(_q("VariableValue")):
            target = holder.find(_q("VariableRef"))
            name = variables.get(
                (target.get("targetGUID", "") if target is not None else "").upper()
            )
            value = next((c.text for c in holder if c.tag != _q("VariableRef")), "")
            if name:
                row[name] = from_xml(value or "")
        rows.append(row)
    attributes = pd.DataFrame(rows)
    texts = {
        el.get("guid", "").upper(): from_xml(el.findtext(_q("PlainTextContent")) or "")
        for el in root.iter(_q("Note"))
    }
    notes = []
    for source in root.iter(_q("TextSource")):
        for selection in source.iter(_q("PlainTextSelection")):
            for ref in selection.iter(_q("NoteRef")):
                notes.append(
                    {
                        "source": from_xml(source.get("name", "")),
                        "start": int(selection.get("startPosition", 0)),
                        "end": int(selection.get("endPosition", 0)),
                        "code": from_xml(selection.get("name", "")),
                        "note": texts.get(ref.get("targetGUID", "").upper(), ""),
                    }
                )
    return {
        "codes": codes,
        "attributes": attributes,
        "notes": pd.DataFrame(notes, columns=["source", "start", "end", "code", "note"]),
    }
