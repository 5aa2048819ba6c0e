"""Tests for ner.corpus.encoding: corpus files in legacy encodings, read and said so, or refused."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from ner.corpus import (
    CorpusError,
    read_conll,
    read_corpus,
    write_conll_predictions,
)

from .corpus_files import write

SPANISH = "-DOCSTART- O\n\nEl O\npresidente O\nJosé B-PER\nMaría I-PER\nAznar I-PER\nvisitó O\nMálaga B-LOC\n. O\n"
CHINESE = "中 B-LOC\n国 I-LOC\n人 O\n民 O\n银 B-ORG\n行 I-ORG\n在 O\n北 B-LOC\n京 I-LOC\n。 O\n"


def conll_of(sentence: str) -> str:
    """A CoNLL file of ``sentence``'s words, the first tagged B-LOC and the rest O."""
    words = sentence.split()
    return "".join(f"{word} {'B-LOC' if i == 0 else 'O'}\n" for i, word in enumerate(words))


RUSSIAN = conll_of("Москва : президент России заявил , что экономика растёт быстрее , чем ожидалось .")
GREEK = conll_of("Αθήνα : ο πρωθυπουργός της Ελλάδας δήλωσε ότι η οικονομία αναπτύσσεται ταχύτερα .")
HEBREW = conll_of("ירושלים : ראש הממשלה אמר כי הכלכלה צומחת מהר מהצפוי .")
ARABIC = conll_of("القاهرة : قال رئيس الوزراء إن الاقتصاد ينمو أسرع من المتوقع .")
THAI = conll_of("กรุงเทพ นายกรัฐมนตรี กล่าว ว่า เศรษฐกิจ เติบโต เร็ว กว่า ที่ คาด")
CZECH_WITHOUT_T_CARON = conll_of("Praha : předseda vlády řekl , že Česká republika podpoří Ukrajinu .")
TURKISH = conll_of("İstanbul'da yaşayan Ahmet Yılmaz , Türkiye Büyük Millet Meclisi'nde konuştu .")
LITHUANIAN = conll_of("Vilnius : Lietuvos Respublikos Seimas priėmė įstatymą dėl švietimo .")
HUNGARIAN = conll_of("Budapest : a miniszterelnök előbb érkezett , mint a tűzoltók .")
FRENCH = conll_of("Genève : le président a rencontré des élèves à côté du château où ça coûte très cher .")
PORTUGUESE = conll_of("Lisboa : as informações sobre a reunião não foram divulgadas à imprensa .")
ESTONIAN = conll_of("Tallinn : Tartu Ülikooli õppejõud Žanna Šmidt ütles , et šokolaadi tootja müüb rohkem .")
FRENCH_WITH_OE = conll_of("Genève : le cœur du président a rencontré des élèves pour une œuvre à côté du château .")
POLISH = conll_of("Łódź : prezydent powiedział , że gospodarka rośnie szybciej niż oczekiwano .")


@pytest.mark.parametrize(
    ("text", "encoding", "read_as"),
    [
        (SPANISH, "latin-1", "cp1252"),
        (SPANISH, "cp1252", "cp1252"),
        (CHINESE, "gbk", "gb18030"),
        (CHINESE, "big5", "big5"),
        (RUSSIAN, "cp1251", "cp1251"),
        (GREEK, "cp1253", "cp1253"),
        (HEBREW, "cp1255", "cp1255"),
        (ARABIC, "cp1256", "cp1256"),
        (THAI, "cp874", "cp874"),
        (FRENCH, "cp1252", "cp1252"),
        (PORTUGUESE, "latin-1", "cp1252"),
        (CZECH_WITHOUT_T_CARON, "cp1250", "cp1250"),
        (HUNGARIAN, "cp1250", "cp1250"),
        (TURKISH, "cp1254", "cp1254"),
        (LITHUANIAN, "cp1257", "cp1257"),
        (CZECH_WITHOUT_T_CARON, "iso8859_2", "iso8859_2"),
        (POLISH, "iso8859_2", "iso8859_2"),
        (ESTONIAN, "cp1257", "cp1257"),
        (ESTONIAN, "iso8859_15", "iso8859_15"),
        (ESTONIAN, "cp1252", "cp1252"),
        (FRENCH_WITH_OE, "iso8859_15", "iso8859_15"),
        (FRENCH_WITH_OE, "cp1252", "cp1252"),
    ],
)
def test_read_conll_reads_a_legacy_encoding_and_says_so(tmp_path, caplog, text, encoding, read_as):
    """CoNLL-2002's Spanish and Dutch files are Latin-1, older Chinese corpora GBK or Big5, and Russian,
    Greek, Hebrew, Arabic and Thai ones in Windows' code page for their script. Czech (without ť),
    Hungarian, Turkish and Lithuanian bytes read as Western European text too (Předseda as Pøedseda,
    yaşayan as yaþayan), which charset-normalizer prefers, and Polish in ISO-8859-2 as Arabic; their
    language, which py3langid tells even from those readings, and its letters give the code page, Windows'
    or ISO's. French and Portuguese stay Western European, unless French has œ where ISO-8859-15 puts it;
    Estonian's š and ž read in the Baltic code page or ISO-8859-15 when written in them."""
    if encoding == "big5":
        text = "臺 B-LOC\n灣 I-LOC\n人 O\n"
    expected = read_conll(write(tmp_path, text, "utf8.txt"))
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    with caplog.at_level("WARNING", logger="ner.corpus"):
        assert read_conll(path) == expected
    assert f"read as {read_as}" in caplog.text
    sentences, scheme = read_conll(path)  # ner predict writes the file back, in UTF-8
    written = write_conll_predictions(path, sentences, [s.tags for s in sentences], scheme)
    assert "\n".join(written) == "\n".join(
        f"{line} {line.split()[-1]}" if line else line for line in text.split("\n")[:-1]
    )


def test_a_legacy_file_is_read_where_no_temporary_folder_can_be_written(tmp_path, monkeypatch):
    """py3langid unpacks its model into the temporary folder first: in a read-only container, reading a
    file that is not UTF-8 ended in 'No usable temporary directory found'."""
    py3langid = pytest.importorskip("py3langid")

    def unpack(*_: object) -> None:
        raise FileNotFoundError(2, "No usable temporary directory found in ['/tmp']")

    monkeypatch.setattr(py3langid, "classify", unpack)
    path = tmp_path / "latin1.txt"
    path.write_bytes("Peñarol B-ORG\nganó O\n".encode("latin-1"))
    assert read_conll(path)[0][0].tokens == ["Peñarol", "ganó"]


CZECH = conll_of("Příbram : prezident řekl , že ekonomika roste rychleji , než se čekalo . Ťululum")
RUSSIAN_KOI8 = conll_of("Москва : президент России заявил , что экономика растёт быстрее , чем ожидалось .")


@pytest.mark.parametrize(("text", "encoding"), [(POLISH, "cp1250"), (CZECH, "cp1250"), (RUSSIAN_KOI8, "koi8_r")])
def test_a_file_no_common_encoding_reads_is_read_in_a_fallback_one(tmp_path, caplog, text, encoding):
    """Polish and Czech in Windows-1250 and Russian in KOI8-R: tried only when no encoding of
    LEGACY_ENCODINGS reads the file (the reading charset-normalizer prefers for Polish among them,
    Arabic, mixes alphabets in a word)."""
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    with caplog.at_level("WARNING", logger="ner.corpus"):
        assert read_conll(path) == read_conll(write(tmp_path, text, "utf8.txt"))
    assert f"read as {encoding}" in caplog.text


def test_read_conll_not_utf8_location(tmp_path):
    path = tmp_path / "late.txt"
    # Bytes that only Windows-1256 decodes, as a word mixing Arabic and Latin letters; offset 20000
    path.write_bytes(b"a O\n" * 5000 + b"\x81\x98\xe0\xc7\xff O\n")
    with pytest.raises(CorpusError) as info:
        read_conll(path)
    error = info.value
    offsets = [int(n) for n in re.findall(r"byte (\d+)", error.reason)]
    assert error.line == 5001 or offsets == [20000], str(error)
    assert offsets in ([], [20000]), str(error)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_file_with_a_utf16_or_utf32_byte_order_mark_is_read_in_it(tmp_path, caplog, encoding):
    """Windows PowerShell's > writes UTF-16 with a byte-order mark."""

    def marked(text: str) -> bytes:  # Python's utf-16 and utf-32 write the mark, utf-16-be does not
        return (("\ufeff" if encoding == "utf-16-be" else "") + text).encode(encoding)

    path = tmp_path / "ps.txt"
    path.write_bytes(marked(SPANISH))
    with caplog.at_level("INFO", logger="ner.corpus"):
        assert read_conll(path) == read_conll(write(tmp_path, SPANISH, "utf8.txt"))
    assert "byte-order mark" in caplog.text
    jsonl = tmp_path / "ps.data"  # recognised as JSON by its content
    jsonl.write_bytes(marked('{"text": "José visitó Málaga", "entities": [[0, 4, "PER"]]}\n'))
    [sentence], scheme = read_corpus(jsonl)
    assert sentence.tokens[0] == "José" and sentence.tags[0] == "S-PER" and scheme == "spans"


def test_gzip_compressed_corpus_files_are_read_whatever_their_name(tmp_path: Path) -> None:
    conll = b"John B-PER\nran O\n\nParis B-LOC\n"
    jsonl = b'{"text": "Ann ran.", "entities": [[0, 3, "PER"]]}\n'
    for name, content in (("a.conll.gz", conll), ("b.txt", conll), ("c.jsonl.gz", jsonl), ("d.data", jsonl)):
        path = tmp_path / name
        path.write_bytes(gzip.compress(content))
        sentences, _ = read_corpus(path)
        expected = ["John", "ran", "Paris"] if content == conll else ["Ann", "ran", "."]
        assert [t for s in sentences for t in s.tokens] == expected, name
    damaged = tmp_path / "e.conll.gz"
    damaged.write_bytes(gzip.compress(conll)[:-12])
    with pytest.raises(CorpusError, match="a damaged gzip file"):
        read_corpus(damaged)


def test_a_gzip_file_damaged_inside_is_said_to_be(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(b"John B-PER\nran O\n" * 200))
    for i in range(20, 40):
        data[i] ^= 0xFF
    damaged = tmp_path / "bad.conll.gz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match="a damaged gzip file"):
        read_corpus(damaged)


def test_a_gzip_file_that_inflates_a_thousandfold_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ner.corpus.encoding

    monkeypatch.setattr(ner.corpus.encoding, "MIN_GZIP_LIMIT", 1_000_000)
    bomb = tmp_path / "bomb.conll.gz"
    bomb.write_bytes(gzip.compress(b"\n" * 5_000_000, 9))  # 5 MB from about 5 KB
    with pytest.raises(CorpusError, match="a gzip file inflating past 1,000,000 bytes, over 100 times its size"):
        read_corpus(bomb)
