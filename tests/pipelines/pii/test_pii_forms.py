"""PII in its spoken forms in English, Spanish and French (issue 15): UK postcodes without a
cue, dates of birth in words and after the agent's question, Spanish DNI/NIE and French NIR
numbers, IBANs, Spanish and French street addresses and spoken e-mail addresses, numbers said
in Spanish and French words, and the same in English translations of what was said."""

from __future__ import annotations

import re

import pytest

from pipelines.core.types import Segment, Translation
from pipelines.pii.forms import is_nir
from pipelines.pii.redactor import PatternPiiRedactor, redact_text
from pipelines.pii.spoken import normalize


def seg(
    id: int,
    text: str,
    start: float = 0.0,
    *,
    speaker: str = "customer",
    language: str = "en",
    translation: str | None = None,
) -> Segment:
    return Segment(
        id=id,
        start=start,
        end=start + 3.0,
        text=text,
        words=(),
        language=language,
        confidence=0.9,
        channel=0 if speaker == "agent" else 1,
        speaker=speaker,
        translation=None if translation is None else Translation("en", translation),
    )


def squeeze(text: str) -> str:
    return re.sub(r"[\s\-.,]", "", text.lower())


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret.lower() not in text.lower(), secret
        assert squeeze(secret) not in squeeze(text), secret


REDACTED = [
    # UK postcodes: spelled after a cue, and without a cue in the forms recognizers write
    ("My postcode is L S 6, 2 Q W.", "My postcode is [ADDRESS].", "2QW"),
    ("It's B15 2TT.", "It's [ADDRESS].", "2TT"),
    ("that'd be b15 2tt", "that'd be [ADDRESS]", "2tt"),
    ("It's E 17 4 PB, yes.", "It's [ADDRESS], yes.", "4PB"),
    ("it's S W nine eight L T", "it's [ADDRESS]", "nine eight"),
    ("Sure, N7 0RH.", "Sure, [ADDRESS].", "0RH"),
    # dates of birth said in full, with or without a cue
    ("Sure, it's the 9th of October 1983.", "Sure, it's the [DOB].", "1983"),
    ("and it's the nineteenth of January nineteen seventy-four", "and it's the [DOB]", "seventy"),
    ("That's June 3rd, 1958.", "That's [DOB].", "1958"),
    ("Yes, June 3, 1958, that's me", "Yes, [DOB], that's me", "1958"),
    ("Nací el veintitrés de abril de mil novecientos setenta y cinco.", "Nací el [DOB].", "abril"),
    (
        "Mi fecha de nacimiento es el dos de noviembre de mil novecientos noventa y uno.",
        "Mi fecha de nacimiento es el [DOB].",
        "noventa",
    ),
    (
        "Je suis né le trois septembre mil neuf cent quatre-vingt-un.",
        "Je suis né le [DOB].",
        "quatre-vingt",
    ),
    ("Ma date de naissance, c'est le vingt-huit mai soixante-quinze.", None, "soixante"),
    ("Je suis née le 1er juin 1966.", "Je suis née le [DOB].", "1966"),
    ("mi fecha de nacimiento es el 23 de marzo del 65", "mi fecha de nacimiento es el [DOB]", "65"),
    # Spanish DNI / NIE, French NIR: check letter or key, or a cue
    ("Mi DNI es 71234567W.", "Mi DNI es [NATIONAL_ID].", "71234567"),
    ("Tengo el 53904127Q, ¿vale?", "Tengo el [NATIONAL_ID], ¿vale?", "53904127"),
    ("el documento de identidad es 5 3 9 0 4 1 2 7 Q", None, "3904127"),
    ("Mi NIE es Y1234567X.", "Mi NIE es [NATIONAL_ID].", "1234567"),
    ("el DNI es siete uno dos tres cuatro cinco seis siete W", None, "cuatro cinco"),
    ("mi DNI es 71.234.567-W", "mi DNI es [NATIONAL_ID]", "234"),
    ("mi número de la seguridad social es 28 1234567840", None, "1234567840"),
    ("mon numéro de sécurité sociale est 2 84 07 75 114 025 29", None, "114025"),
    ("Mon numéro de carte vitale c'est 1 79 06 13 055 087 04", None, "055087"),
    ("c'est le 2 84 07 75 114 025 29", "c'est le [NATIONAL_ID]", "114025"),
    # IBANs, typed [IBAN]: grouped, spelled out, with a cue and one digit misheard
    ("my IBAN is GB16 LOYD 3096 3812 3456 77", "my IBAN is [IBAN]", "LOYD"),
    ("F R 8 5 3 0 0 0 4 0 0 8 2 3 0 0 0 1 2 3 4 5 6 7 8 5 1", "[IBAN]", "30004008"),
    ("G B 1 6 L O Y D 3 0 9 6 3 8 1 2 3 4 5 6 7 7", "[IBAN]", "30963812"),
    ("Mi IBAN es ES79 2100 0813 6101 2345 6789.", "Mi IBAN es [IBAN].", "21000813"),
    ("le RIB c'est FR85 3000 4008 2300 0123 4567 852", "le RIB c'est [IBAN]", "30004008"),
    # Spanish and French street addresses
    ("Vivo en la avenida de Andalucía 42, tercero B.", "Vivo en la [ADDRESS].", "Andalucía"),
    ("La dirección es calle Goya número 27.", "La dirección es [ADDRESS].", "Goya"),
    ("Estoy en el Paseo de la Castellana 118.", "Estoy en el [ADDRESS].", "Castellana"),
    ("j'habite au 14 avenue Jean Jaurès à Grenoble", "j'habite au [ADDRESS] à Grenoble", "Jaurès"),
    (
        "mon adresse c'est 3 bis rue du Moulin, 38000 Grenoble",
        "mon adresse c'est [ADDRESS], [ADDRESS] Grenoble",
        "38000",
    ),
    ("c'est au 27 boulevard Gambetta", "c'est au [ADDRESS]", "Gambetta"),
    ("j'habite rue des Tanneurs", "j'habite [ADDRESS]", "Tanneurs"),
    # spoken e-mail addresses in Spanish and French
    ("mi correo es pablo punto herrera arroba gmail punto com", "mi correo es [EMAIL]", "herrera"),
    ("c'est luc tiret bernard arobase free point fr", "c'est [EMAIL]", "bernard"),
    ("claire, point, roux, arobase, orange, point, fr", "[EMAIL]", "roux"),
    ("mi correo es ana guion bajo ruiz arroba yahoo punto es", "mi correo es [EMAIL]", "ruiz"),
    # numbers said in Spanish and French words after a cue
    ("mi teléfono es seis uno cuatro, dos dos tres, cuatro cinco seis", None, "dos dos tres"),
    (
        "el número de la tarjeta es cuatro cinco cinco seis siete tres siete cinco uno dos tres "
        "cuatro cinco seis siete ocho",
        "el número de la tarjeta es [CARD]",
        "siete tres siete",
    ),
    ("el código de seguridad es tres cuatro ocho", "el código de seguridad es [CVV]", "ocho"),
    ("el código postal es cuatro uno cero cero dos", None, "cuatro uno cero"),
    ("mon portable c'est le zéro six, quarante-deux, dix-huit, soixante-sept", None, "dix-huit"),
    ("le cryptogramme au dos c'est quatre cinq un", "le cryptogramme au dos c'est [CVV]", "cinq"),
    ("mon code postal c'est soixante-neuf zéro zéro trois", None, "soixante"),
    # what English translations of such speech say
    ("I live at 21 rue Victor Hugo in Marseille", "I live at [ADDRESS] in Marseille", "Victor"),
    ("I live on Calle Goya 27", "I live on [ADDRESS]", "Goya"),
    ("I live on Goya Street 27", "I live on [ADDRESS]", "Goya"),
    ("I live in the street Goya 27", "I live in the [ADDRESS]", "Goya"),
    ("My address is Avenida de Andalucía, 42", "My address is [ADDRESS]", "Andalucía"),
    ("My ID card number is 71234567W", "My ID card number is [NATIONAL_ID]", "71234567"),
    ("My NIE is Y1234567X.", "My NIE is [NATIONAL_ID].", "1234567"),
    ("my email is luc dash bernard at free point fr", "my email is [EMAIL]", "bernard"),
]


@pytest.mark.parametrize(("text", "expected", "secret"), REDACTED)
def test_redacts_spoken_forms(text: str, expected: str | None, secret: str) -> None:
    out, kinds = redact_text(text)
    assert kinds, out
    if expected is not None:
        assert out == expected
    assert_clean(out, secret)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("IBAN GB16 LOYD 3096 3812 3456 77", "IBAN"),
        ("F R 8 5 3 0 0 0 4 0 0 8 2 3 0 0 0 1 2 3 4 5 6 7 8 5 1", "IBAN"),
        ("mi número de cuenta es ES79 2100 0813 6101 2345 6780", "IBAN"),  # misheard, cued
        ("Mon numéro de carte vitale c'est 1 79 06 13 055 087 04", "NATIONAL_ID"),
        ("My ID card number is 71234567W", "NATIONAL_ID"),
        ("c'est le 2 84 07 75 114 025 29", "NATIONAL_ID"),
    ],
)
def test_types(text: str, kind: str) -> None:
    assert redact_text(text)[1] == (kind,)


KEPT = [
    "It costs seventy four pounds a month.",
    "Delivery takes twelve working days.",
    "We open at nine thirty and close at five.",
    "El precio es de setenta y nueve euros al mes.",
    "Tarda quince días en llegar.",
    "Le forfait coûte trente-neuf euros quatre-vingt-dix-neuf.",
    "Livraison sous dix jours ouvrés.",
    "Son las diez y media.",
    "Rappelez-moi demain à quatorze heures.",
    "My order from the 4th of May 2023 hasn't arrived.",
    "We've been customers since the 2nd of June 1998.",
    "The update on 12/03/2021 broke it.",
    "I have a Samsung S 21 5G.",
    "It's on the 3rd floor, room 214.",
    "the part number is W 10 3 BT",  # a postcode's shape, but a part number
    "Es la versión 2 del plan, unos cuarenta y cinco gigas.",
    "point taken, we can call at five",
    "la calle estaba cortada 2 horas",
    "Il y a 3 rues fermées dans le quartier.",
    "nous sommes le 12 février 2025",
    "la reunión es el 15 de marzo de 2024",
    "Once I called, they said wait.",
    "It was Sept 12 when it broke.",
    "Seize the day, they said.",
    "Une personne m'a dit de rappeler.",
    "el código de seguridad, ¿son tres o cuatro dígitos?",  # Spanish "o" is "or", not a zero
    "son ochenta y nueve con noventa y nueve",
    "vingt et un jours, c'est long",
    "you get 2 2nd-class tickets",
    "Me 2, I said to 3 DS owners",
    "In 1985 I moved to Leeds",
    "it happened on 12/11/2019",
    "The M 25 at junction 10 was jammed.",
    "Il y a 3 cours ce matin.",
    "Nous avons 2 places de parking.",
    "J'attends depuis le 2 mars 2005.",
    "Desde el 5 de mayo de 2004 soy cliente.",
    "Six cents euros, c'est trop.",
    "La référence est A B 1 2 C D.",
]


@pytest.mark.parametrize("text", KEPT)
def test_keeps_ordinary_numbers_and_words(text: str) -> None:
    assert redact_text(text) == (text, ())


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        (
            "Can I take your full name and date of birth please?",
            "Yes, Daniel Okafor, the fourth of August, 2009.",
            "Yes, Daniel Okafor, the [DOB].",
        ),
        (
            "And what's your date of birth?",
            "Umm, let me think, it's 7th of February 2011",
            "Umm, let me think, it's [DOB]",
        ),
        (
            "¿Me puede dar su fecha de nacimiento?",
            "Sí, claro. Ana Belén Ortiz, el treinta de enero de dos mil diez.",
            "Sí, claro. Ana Belén Ortiz, el [DOB].",
        ),
        (
            "Quelle est votre date de naissance ?",
            "Alors, Paul Girard, le seize octobre deux mille huit.",
            "Alors, Paul Girard, le [DOB].",
        ),
    ],
)
def test_date_of_birth_after_the_question_and_a_name(
    redactor: PatternPiiRedactor, question: str, answer: str, expected: str
) -> None:
    """Years after 2007 count only as the answer to the question (a child's, say)."""
    assert redact_text(answer) == (answer, ())
    result = redactor.redact([seg(0, question, speaker="agent"), seg(1, answer, 3.5)])
    assert result.segments[1].text == expected
    assert [e.type for e in result.entities] == ["DOB"]


def test_the_question_answers_only_the_first_date(redactor: PatternPiiRedactor) -> None:
    result = redactor.redact(
        [
            seg(0, "Your date of birth, please?", speaker="agent"),
            seg(1, "The 4th of May. And I paid on the 2nd of June.", 3.5),
        ]
    )
    assert result.segments[1].text == "The [DOB]. And I paid on the 2nd of June."


TRANSLATED = [
    ("Mi DNI es 71234567W.", "es", "My DNI is 71234567W.", "71234567"),
    ("Nací el veintitrés de abril de mil novecientos setenta y cinco.", "es",
     "I was born on April 23, 1975.", "1975"),
    ("Vivo en la avenida de Andalucía 42.", "es", "I live on Andalusia Avenue 42.", "Andalusia"),
    ("Vivo en la calle Goya 27.", "es", "I live in the street Goya 27.", "Goya"),
    ("j'habite 21 rue Victor Hugo à Marseille", "fr",
     "I live at 21 rue Victor Hugo in Marseille", "Victor"),
    ("Je suis né le trois septembre mil neuf cent quatre-vingt-un.", "fr",
     "I was born three September thousand nine hundred and eighty-one.", "eighty"),
    ("c'est luc tiret bernard arobase free point fr", "fr",
     "it's luc dash bernard at free point fr", "bernard"),
    ("mon numéro de sécurité sociale est 2 84 07 75 114 025 29", "fr",
     "my social security number is 2 84 07 75 114 025 29", "114025"),
    ("Mi IBAN es ES79 2100 0813 6101 2345 6789.", "es",
     "My IBAN is ES79 2100 0813 6101 2345 6789.", "21000813"),
    ("mi teléfono es seis uno cuatro, dos dos tres, cuatro cinco seis", "es",
     "my phone is 614 223 456", "223"),
    ("el código postal es cuatro uno cero cero dos", "es", "the zip code is 41002", "41002"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "language", "english", "secret"), TRANSLATED)
def test_english_translations_redacted(
    redactor: PatternPiiRedactor, text: str, language: str, english: str, secret: str
) -> None:
    result = redactor.redact([seg(0, text, language=language, translation=english)])
    out = result.segments[0]
    assert out.translation is not None and "[" in out.translation.text
    assert out.text != text
    assert_clean(out.text + " " + out.translation.text, secret)


def test_translation_of_an_answer_to_the_question(redactor: PatternPiiRedactor) -> None:
    """The translation is redacted alone, without the call: a date of birth found in the
    original takes every date out of its translation."""
    result = redactor.redact(
        [
            seg(0, "¿Me da su fecha de nacimiento?", speaker="agent", language="es"),
            seg(
                1,
                "Sí, Lucía Prado, el treinta de enero de dos mil diez.",
                3.5,
                language="es",
                translation="Yes, Lucía Prado, January 30, 2010.",
            ),
        ]
    )
    out = result.segments[1]
    assert out.text == "Sí, Lucía Prado, el [DOB]."
    assert out.translation == Translation("en", "Yes, Lucía Prado, [DOB].")


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("el catorce de julio de mil novecientos ochenta y dos", "el 14 de julio de 1982"),
        ("le douze février mil neuf cent soixante-dix", "le 12 février 1970"),
        ("zéro six, quarante-deux, dix-huit, quatre-vingt-treize", "06421893"),
        ("cuatro cinco cinco seis", "4556"),
        ("dos mil quince y ciento veinte", "2015 y 120"),
        ("soixante et onze, quatre-vingt-dix-neuf", "7199"),
        ("dix-neuf cent quatre-vingt-cinq", "1985"),
        ("trois cent douze", "312"),
        ("veintitrés, treinta y uno", "2331"),
        ("sept trois sept", "737"),
        ("Sept 12", "Sept 12"),
        ("six hundred", "600"),
        ("dos o tres días", "2 o 3 días"),
    ],
)
def test_spanish_and_french_numbers_become_digits(said: str, digits: str) -> None:
    assert normalize(said).text == digits


def test_nir_key() -> None:
    assert is_nir("284077511402529")
    assert not is_nir("284077511402528")
    assert not is_nir("384077511402529")


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Your order reference is K P 4 4 8.", "Your order reference is [REFERENCE]."),
        ("order 58213 was shipped yesterday", "order [REFERENCE] was shipped yesterday"),
        ("Your ticket number is 2 4 7 8 1.", "Your ticket number is [REFERENCE]."),
        ("the booking code is B 2 1 4 L Q", "the booking code is [REFERENCE]"),
    ],
)
def test_order_ticket_and_booking_numbers_are_references(text: str, redacted: str) -> None:
    """Numbers that identify a customer's order or case are redacted as REFERENCE (they are
    keyed for repeat contacts, never stored raw)."""
    assert redact_text(text) == (redacted, ("REFERENCE",))
