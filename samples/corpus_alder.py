"""The corpus calls of Alder Bank (card services): the held-out split."""

from __future__ import annotations

from corpus_types import PIPER, Call, Condition, Line, Pii, Summary, Voice

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
    "savings_offer": True,
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
    summary=Summary(
        reason="Lost debit card, probably on the bus",
        actions=(
            "Card blocked",
            "Recent transactions checked, nothing since a supermarket payment the customer "
            "made yesterday evening",
            "Replacement card ordered, arriving in three to five working days with the same PIN",
        ),
        outcome="resolved",
    ),
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
    summary=Summary(
        reason="Unrecognised payment of three hundred euros to an online shop",
        actions=(
            "Card blocked",
            "Fraud claim raised for the three hundred euros",
            "Reminded the customer the bank never asks for a PIN or password",
        ),
        outcome="follow_up",
        follow_ups=("Refund of the three hundred euros to the customer's account within ten days",),
    ),
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
    summary=Summary(
        reason="Locked out of the mobile app, with the account suspended after too many attempts",
        actions=(
            "Agent asked the customer to read out the online banking password",
            "App unlocked so the customer can log in again",
            "Confirmed the social security number on file",
        ),
        outcome="resolved",
    ),
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
    summary=Summary(
        reason="Card declined when paying the rent online",
        actions=(
            "Explained the payment was stopped by the fraud check",
            "Card unblocked for the payment and the customer asked to try again",
            "Told the customer not to share the card number, the bank never asks for a PIN or "
            "password",
        ),
        outcome="resolved",
    ),
)

A5 = Call(
    id="alder-platinum-saver",
    company="alder-bank",
    agent=Voice(PIPER),
    customer=Voice("en-gb-x-rp", speed=155, pitch=60, peak=0.5),
    condition=Condition(codec="alaw", snr_db=15, echo_db=-24),
    tags=("alaw", "15dB", "echo", "en-gb-x-rp", "piper", "product-terms", "payments"),
    notes="Card and account names (Alder Rewards Platinum, Evergreen Saver): the caller asks "
    "about saving and names the Evergreen Saver; the agent only sends them to the savings team "
    "without naming it (savings_offer fails; minor, the call passes).",
    lines=(
        Line(
            "agent",
            "Good afternoon, you've reached Alder Bank card services, I'm James. "
            "Calls are recorded.",
        ),
        Line(
            "customer",
            "Hi James. My Alder Rewards Platinum card was declined at a hotel last night, "
            "and there is plenty of credit on it.",
        ),
        Line(
            "agent",
            "Sorry about that. First I need to verify you. "
            "Can I have your date of birth and the first line of your address?",
        ),
        Line(
            "customer",
            "The {eleventh of March nineteen eighty eight}, and {24 Cedar Close}.",
            pii=(
                Pii("DATE_OF_BIRTH", "1988", ("eleventh of march", "eighty eight")),
                Pii("ADDRESS", "24", ("cedar close", "twenty four")),
            ),
        ),
        Line(
            "agent",
            "Thank you. The payment was stopped by our fraud check. I've unblocked your card, "
            "so your Alder Rewards Platinum card works again now.",
        ),
        Line("customer", "Good. Will I still get my Alder Rewards Platinum points for the hotel?"),
        Line(
            "agent", "Yes, Alder Rewards Platinum gives you two points per pound, hotels included."
        ),
        Line(
            "customer",
            "One more thing. I want to start saving some money each month. My sister has an "
            "Evergreen Saver, could I open one too?",
        ),
        Line(
            "agent",
            "I can only help with cards on this line, I'm afraid. For savings, please call our "
            "savings team, the number is on our website.",
        ),
        Line("customer", "Okay. So I can't open the Evergreen Saver through you?"),
        Line("agent", "No, sorry. The savings team will help you with that."),
        Line("agent", "Is there anything else I can do for you today?"),
        Line("customer", "No, that's everything, thanks."),
        Line("agent", "Thank you for banking with Alder. Goodbye."),
    ),
    verdicts=ALDER_PASS | {"savings_offer": False},
    passed=True,
    topic="payments",
    summary=Summary(
        reason="Alder Rewards Platinum card declined at a hotel despite enough available credit",
        actions=(
            "Explained the payment was stopped by the fraud check and unblocked the card",
            "Confirmed the hotel spend earns two Rewards Platinum points per pound",
            "Referred the request to open an Evergreen Saver to the savings team",
        ),
        outcome="resolved",
    ),
)
