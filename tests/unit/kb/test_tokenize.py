"""The words search sees: English lowercased without stopwords and plural -s; Chinese
segmented by jieba, with characters of longer words, and Latin words inside it."""

from __future__ import annotations

from chatserver.kb import tokenize


def test_english_is_lowercased_split_and_stripped_of_stopwords() -> None:
    assert tokenize.en_tokens("How long is DELIVERY to Berlin?") == ["long", "delivery", "berlin"]


def test_english_folds_plain_plurals_only() -> None:
    assert tokenize.en_tokens("returns parcels glass status") == ["return", "parcel", "glass",
                                                                   "status"]  # fmt: skip


def test_numbers_are_words() -> None:
    assert tokenize.en_tokens("orders over 199 yuan") == ["order", "over", "199", "yuan"]


def test_chinese_is_segmented_into_words_and_their_characters() -> None:
    words = tokenize.zh_tokens("已开封的茶叶可以退货吗")
    assert {"开封", "茶叶", "退货", "退"} <= set(words)
    assert not {"的", "吗", "可以"} & set(words)


def test_latin_words_in_chinese_text_are_english_words() -> None:
    assert {"paypal", "ems"} <= set(tokenize.zh_tokens("支持PayPal吗？EMS几天到"))


def test_punctuation_and_spaces_are_no_words() -> None:
    assert tokenize.zh_tokens("？！，。 ") == []
    assert tokenize.tokens("？！", "en") == []
