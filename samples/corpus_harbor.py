"""The corpus calls of Harbor Home (an online furniture and homeware shop): tuning split."""

from __future__ import annotations

from corpus_types import PIPER, Call, Condition, Line, Pii, Summary, Voice

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
    "protection_offer": True,
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
            "The reference is {H K 7 7 2}. The postcode is {S W 9, 8 L T}.",
            pii=(
                Pii("REFERENCE", "HK772", ("seven seven two",)),
                Pii("POSTCODE", "SW98LT", ("s w 9", "8 l t")),
            ),
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
    summary=Summary(
        reason=(
            "Coffee table ordered two weeks ago has not arrived and shows as delayed at the depot"
        ),
        actions=(
            "Parcel held at the depot put on tomorrow morning's van",
            "Ten pound credit added",
            "Customer's number added to the delivery note for the driver to call ahead",
        ),
        outcome="resolved",
    ),
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
            "It's order {H K 4 1 9}, and the postcode is {L S 6, 2 Q P}.",
            pii=(
                Pii("REFERENCE", "HK419", ("four one nine",)),
                Pii("POSTCODE", "LS62QP", ("l s 6", "2 q p")),
            ),
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
    summary=Summary(
        reason=(
            "Sofa delivered yesterday has a torn seat cushion and the customer wants to return it "
            "for a refund"
        ),
        actions=(
            "Agent suggested the customer damaged it while unpacking",
            "Collection booked from the customer's address in Leeds",
            "Return label sent by email",
            "Refund to the card once the sofa is collected",
        ),
        outcome="resolved",
    ),
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
            "El pedido es {H K 5 5 0}. Mi código postal es {2 8 0 1 3}, en Madrid.",
            language="es",
            english="The order is H K 5 5 0. My postcode is 2 8 0 1 3, in Madrid.",
            pii=(
                Pii("REFERENCE", "HK550", ("cinco cinco cero", "five five zero")),
                Pii("POSTCODE", "28013", ("veintiocho mil trece",)),
            ),
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
    summary=Summary(
        reason="Charged twice, eighty nine euros each time, for the same order",
        actions=("Second charge found to be a payment error and refunded",),
        outcome="resolved",
    ),
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
            "Got it. Reference {H K 8 3 1}, postcode {B 1 5, 2 T T}.",
            gap_s=12.0,
            pii=(
                Pii("REFERENCE", "HK831", ("eight three one",)),
                Pii("POSTCODE", "B152TT", ("b 1 5", "2 t t")),
            ),
        ),
        Line("agent", "Thank you. The order is cancelled and the refund takes three to five days."),
        Line("agent", "Is there anything else I can help with today?"),
        Line("customer", "No, that's all, thank you."),
        Line("agent", "Thanks for shopping with Harbor Home. Take care."),
    ),
    verdicts=HARBOR_PASS | {"verify_customer": False},
    passed=False,
    topic="cancellation",
    summary=Summary(
        reason=(
            "Wants to cancel the oak bookcase ordered on Sunday after finding a cheaper one locally"
        ),
        actions=(
            "Checked with the warehouse that the order had not been packed",
            "Order cancelled",
            "Refund in three to five days",
        ),
        outcome="resolved",
    ),
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
    summary=Summary(
        reason="Cannot pay on the website because the payment page shows an error every time",
        actions=(
            "Found this morning's order was never completed",
            "Explained a checkout fault on Harbor Home's side that is now fixed",
            "Customer tried again and checkout now works",
        ),
        outcome="resolved",
    ),
)

H6 = Call(
    id="harbor-oakhurst-careshield",
    company="harbor-home",
    agent=Voice(PIPER),
    customer=Voice("en-us+f2", speed=160, pitch=60, peak=0.45),
    condition=Condition(codec="alaw", snr_db=18),
    tags=("alaw", "18dB", "piper", "en-us", "product-terms", "delivery"),
    notes="Product names (the Oakhurst sofa, the CareShield plan): the caller asks how to "
    "protect the sofa and the agent offers CareShield (protection_offer passes).",
    lines=(
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Hi James. I ordered the Oakhurst corner sofa last week and I'd like to know "
            "when it will be delivered.",
        ),
        Line("agent", "Happy to check. Can I take your order reference and your postcode?"),
        Line(
            "customer",
            "The reference is {H K 6 0 4}, and the postcode is {N 1 6, 5 R W}.",
            pii=(
                Pii("REFERENCE", "HK604", ("six oh four", "six zero four")),
                Pii("POSTCODE", "N165RW", ("n 1 6", "5 r w")),
            ),
        ),
        Line(
            "agent",
            "Thank you. I've got your order up on screen now, the Oakhurst corner sofa in sage "
            "green. It arrives on Friday between eight and twelve.",
        ),
        Line(
            "customer",
            "Great. We have a dog and two small children. Is there any way to protect the sofa "
            "against stains and spills?",
        ),
        Line(
            "agent",
            "Yes, our CareShield furniture protection plan covers that. CareShield covers "
            "stains, spills and accidental damage for five years.",
        ),
        Line("customer", "How much is CareShield for the Oakhurst corner sofa?"),
        Line(
            "agent",
            "For the Oakhurst it's forty nine pounds. I can add CareShield to your order now "
            "if you like.",
        ),
        Line("customer", "Yes please, add CareShield."),
        Line("agent", "Done, CareShield is on your order and the documents will come by email."),
        Line("agent", "Is there anything else I can help with today?"),
        Line("customer", "No, that's everything. Thanks James."),
        Line("agent", "Thanks for shopping with Harbor Home. Bye now."),
    ),
    verdicts=HARBOR_PASS,
    passed=True,
    topic="delivery",
    summary=Summary(
        reason="Asks when the Oakhurst corner sofa ordered last week will be delivered",
        actions=(
            "Delivery confirmed for Friday between eight and twelve",
            "CareShield protection plan offered for stains, spills and accidental damage at "
            "forty nine pounds",
            "CareShield added to the order with the documents to follow by email",
        ),
        outcome="resolved",
    ),
)
