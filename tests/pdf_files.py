"""Real PDF files for tests, written by hand: one Helvetica text line after another, a page each."""

from __future__ import annotations

from pathlib import Path


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF whose page n shows the lines of pages[n - 1] (an empty list: a blank page)."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{i} 0 R" for i in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for page_id, lines in zip(page_ids, pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_id + 1} 0 R "
                       f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode())
        text = "".join(f"({_escape(line)}) Tj T* " for line in lines)
        stream = f"BT /F1 11 Tf 14 TL 72 720 Td {text}ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# A report as a PDF's text layer gives it: no blank line between paragraphs, the last line of each
# short, and a sentence that runs over a line break after "Dr. Irina".
SURVEY_LINES = [
    "Volga River Survey",
    "In the summer of 1998 twenty hydrologists mapped the lower",
    "Volga from Samara to Astrakhan. The survey was led by Dr. Irina",
    "Petrova.",
    "The work was paid for by the Kazan River Fund, which gave",
    "two boats.",
    "The main channel had moved east by two hundred metres since",
    "1961.",
    "The maps are kept in the library of the Kazan institute, which",
    "printed them in 2001.",
]
# The same report laid out again, a paragraph to a line.
SURVEY_REPRINT_LINES = [
    "Volga River Survey",
    "In the summer of 1998 twenty hydrologists mapped the lower Volga from Samara to Astrakhan. "
    "The survey was led by Dr. Irina Petrova.",
    "The work was paid for by the Kazan River Fund, which gave two boats.",
    "The main channel had moved east by two hundred metres since 1961.",
    "The maps are kept in the library of the Kazan institute, which printed them in 2001.",
]
