"""The corpus calls of Brightline Mobile (a mobile network): tuning split."""

from __future__ import annotations

from corpus_types import PIPER, Call, Condition, Line, Pii, Summary, Voice

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
    "roaming_offer": True,
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
    summary=Summary(
        reason=(
            "No signal, calls or data since yesterday evening for a customer who works from home"
        ),
        actions=(
            "Explained a mast fault in the area with engineers on site",
            "Five pound credit added for the lost service",
        ),
        outcome="follow_up",
        follow_ups=(
            "Service expected back by six tonight once the mast is repaired",
            "Text the customer if the service is not back",
        ),
    ),
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
    summary=Summary(
        reason=(
            "Bill shows daily roaming charges for a trip to Mexico although a roaming bundle was "
            "paid for before travelling"
        ),
        actions=(
            "Found the roaming bundle had not been applied",
            "Daily roaming charges removed from the bill",
            "Roaming bundle now applied",
        ),
        outcome="resolved",
    ),
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
    summary=Summary(
        reason=(
            "Wants to move to the unlimited data plan because the current allowance runs out "
            "mid-month"
        ),
        actions=(
            "Moved to unlimited data from today",
            "Agent guaranteed the bill will never go up",
            "Ten dollar change fee taken by card",
        ),
        outcome="resolved",
    ),
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
    summary=Summary(
        reason="Bill is forty pounds higher than usual although nothing was changed",
        actions=(
            "Found a premium text subscription added on the fourth",
            "Subscription cancelled and the forty pounds refunded",
            "Refund to be paid to the customer's bank account",
        ),
        outcome="resolved",
    ),
)

B5 = Call(
    id="brightline-flexi-roam-trip",
    company="brightline-mobile",
    agent=Voice("en-gb-x-gbclan", speed=165, pitch=45, peak=0.5),
    customer=Voice(PIPER, peak=0.45),
    condition=Condition(codec="ulaw", snr_db=15, layout="stereo-agent-right"),
    tags=(
        "ulaw",
        "15dB",
        "en-gb-x-gbclan",
        "piper-caller",
        "stereo-agent-right",
        "product-terms",
        "roaming",
    ),
    notes="Plan and add-on names (Brightline Unlimited Max, Flexi Roam): the caller is going "
    "abroad and the agent offers Flexi Roam (roaming_offer passes).",
    lines=(
        Line(
            "agent",
            "Welcome to Brightline Mobile, my name is Sam. "
            "This call may be recorded to help us improve our service.",
        ),
        Line(
            "customer",
            "Hi Sam. I'm flying to Portugal next week for a month. "
            "Will my phone work while I'm abroad?",
        ),
        Line(
            "agent",
            "It will. To get into your account, can you confirm your full name and the postcode "
            "on the account?",
        ),
        Line(
            "customer",
            "Anna Kowalski, and it's {B S 3, 4 H G}.",
            pii=(Pii("POSTCODE", "BS34HG", ("b s 3", "4 h g")),),
        ),
        Line(
            "agent",
            "Thanks Anna. You're on Brightline Unlimited Max, so for your trip I'd recommend our "
            "Flexi Roam add-on. Flexi Roam is two pounds a day, only on the days you use it.",
        ),
        Line("customer", "So with Flexi Roam I keep all my Brightline Unlimited Max data abroad?"),
        Line("agent", "Yes, all of it. Shall I add Flexi Roam for you?"),
        Line("customer", "Yes please, add Flexi Roam."),
        Line("agent", "Done. I've added Flexi Roam to your account from today."),
        Line(
            "agent",
            "Just to recap, Flexi Roam is on your account, and your Brightline Unlimited Max "
            "data works in Portugal.",
        ),
        Line("customer", "Perfect, thanks Sam."),
        Line("agent", "Thank you for being with Brightline. Have a great trip."),
    ),
    verdicts=BRIGHTLINE_PASS,
    passed=True,
    topic="roaming",
    summary=Summary(
        reason="Flying to Portugal for a month and asks whether the phone will work abroad",
        actions=(
            "Recommended the Flexi Roam add-on at two pounds a day, charged only on days used",
            "Confirmed all the Brightline Unlimited Max data works abroad with Flexi Roam",
            "Flexi Roam added to the account from today",
        ),
        outcome="resolved",
    ),
)
