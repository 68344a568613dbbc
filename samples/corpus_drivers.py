"""The driver set: short Harbor Home calls where several customers call about the same thing.

The main corpus has about one call per reason, so it cannot show call-driver discovery (a driver
needs three or more calls with the same reason). Here four reasons come back three or four times
each, every customer putting it in their own words (no customer sentence is said in two calls):

- ``late-delivery`` (topic ``delivery``): the order has not come when it should have;
- ``damaged-on-arrival`` (topic ``returns``): the item came broken, the customer wants a
  replacement or their money back;
- ``double-charge`` (topic ``payment_billing``): one order paid for twice;
- ``discount-code`` (topic ``payment_billing``): a promo code that took nothing off.

Topics are the default e-commerce set (``pipelines/analytics/topics.py``), which Harbor Home's
policy keeps (it has no ``topics:`` section). Each call: the agent's Harbor Home greeting, the
reason in the customer's first turn, one question from the agent, the answer, a fix or a
promise, goodbye; 25 to 45 seconds of speech, no personal data.

The calls are not scored for compliance (``verdicts`` empty: ``build_corpus.py`` writes no
compliance and no call verdict in their labels); their split is ``drivers`` and they are built
into ``var/corpus/drivers/``, out of ``bench/accuracy.py``'s way; ``bench/insights.py`` measures
driver purity on them against ``Call.driver``.
"""

from __future__ import annotations

from corpus_types import PIPER, Call, Condition, Line, Summary, Voice

# the agents: an espeak-ng British voice when the customer is the piper voice, and the piper
# voice when the customer is an espeak-ng one, so the two parties never share a voice
OLIVER = Voice("en-gb-x-rp", speed=160, pitch=45, peak=0.5)
FIONA = Voice("en-gb-scotland", speed=150, pitch=40, peak=0.5)
DANIEL = Voice("en-gb", speed=165, pitch=45, peak=0.5)
JAMES = Voice(PIPER)

LATE = "late-delivery"
DAMAGED = "damaged-on-arrival"
DOUBLE = "double-charge"
DISCOUNT = "discount-code"
TOPIC = {
    LATE: "delivery",
    DAMAGED: "returns",
    DOUBLE: "payment_billing",
    DISCOUNT: "payment_billing",
}


def _call(
    call_id: str,
    driver: str,
    agent: Voice,
    customer: Voice,
    condition: Condition,
    seed: int,
    lines: tuple[Line, ...],
    summary: Summary,
) -> Call:
    tags = [condition.codec, f"{condition.snr_db:g}dB", agent.name, customer.name]
    if condition.layout != "stereo-agent-left":
        tags.append(condition.layout)
    return Call(
        id=call_id,
        company="harbor-home",
        agent=agent,
        customer=customer,
        condition=condition,
        lines=lines,
        verdicts={},  # not scored for compliance
        passed=False,  # unused without verdicts: the label leaves it out
        topic=TOPIC[driver],
        tags=(*tags, "driver-set"),
        seed=seed,
        summary=summary,
        driver=driver,
    )


# ----------------------------------------------------------------------------- late-delivery

D1 = _call(
    "drv-late-bar-stools",
    LATE,
    OLIVER,
    Voice(PIPER, speed=160),
    Condition(codec="ulaw", snr_db=20),
    9101,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, you're through to Oliver. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Hi Oliver. My parcel still hasn't turned up, and it was due on Tuesday. "
            "I've been watching the door all week.",
        ),
        Line("agent", "I'm sorry about that. What did you order, so I can find the right parcel?"),
        Line("customer", "A set of four bar stools, about ten days ago."),
        Line(
            "agent",
            "I can see your order. The stools were left behind at our depot by mistake. "
            "They're booked on tomorrow's first van, between seven and eleven.",
        ),
        Line("customer", "Brilliant, I'll make sure someone's home. Thanks."),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    Summary(
        reason="Bar stools due on Tuesday have still not been delivered",
        actions=(
            "Found the stools left behind at the depot",
            "Delivery booked on tomorrow's first van between seven and eleven",
        ),
        outcome="resolved",
    ),
)

D2 = _call(
    "drv-late-tracking-stuck",
    LATE,
    JAMES,
    Voice("en-us+f2", speed=165, pitch=60, peak=0.45),
    Condition(codec="alaw", snr_db=18),
    9102,
    (
        Line(
            "agent",
            "Harbor Home, you're speaking with James. "
            "This call is recorded for training and quality purposes. What can I do for you?",
        ),
        Line(
            "customer",
            "Hello James. The tracking on my order hasn't moved in a week. "
            "It's been stuck on dispatched since last Monday.",
        ),
        Line("agent", "Sorry to hear that. Which courier does the tracking page show?"),
        Line(
            "customer", "It says Parcelway, but their own website doesn't know the number at all."
        ),
        Line(
            "agent",
            "Thanks. It looks like Parcelway never scanned it in, so I've opened a trace with "
            "them, and I'll call you back by Friday with an answer.",
        ),
        Line("customer", "Okay, as long as somebody gets back to me. Thanks, bye."),
        Line("agent", "Thank you for choosing Harbor Home. Goodbye."),
    ),
    Summary(
        reason="Order tracking has shown dispatched for a week without moving",
        actions=("Trace opened with the courier Parcelway",),
        outcome="follow_up",
        follow_ups=("Call the customer back by Friday with the trace result",),
    ),
)

D3 = _call(
    "drv-late-courier-no-show",
    LATE,
    FIONA,
    Voice(PIPER, speed=150),
    Condition(codec="ulaw", snr_db=15, layout="stereo-agent-right"),
    9103,
    (
        Line(
            "agent",
            "Good morning, thanks for calling Harbor Home, this is Fiona. "
            "Just so you know, this call is being recorded.",
        ),
        Line(
            "customer",
            "Morning. I took yesterday off to wait for my wardrobe, and the delivery driver "
            "simply never showed up. Nobody rang, nothing.",
        ),
        Line("agent", "I'm really sorry about that. Would tomorrow suit you for a new delivery?"),
        Line("customer", "Tomorrow's no use, I'm at work. Saturday morning would be better."),
        Line(
            "agent",
            "Saturday it is, between eight and twelve, and I've added a note for the crew to "
            "phone you before they arrive.",
        ),
        Line("customer", "Fine. Let's hope they actually come this time."),
        Line("agent", "Thanks for shopping with Harbor Home. Take care."),
    ),
    Summary(
        reason="The wardrobe delivery never came yesterday although the customer waited in all day",
        actions=(
            "Redelivery booked for Saturday between eight and twelve",
            "Note added for the crew to phone ahead",
        ),
        outcome="resolved",
    ),
)

D4 = _call(
    "drv-late-three-days",
    LATE,
    JAMES,
    Voice("en-gb", speed=170, pitch=50, peak=0.45),
    Condition(codec="alaw", snr_db=22),
    9104,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Yeah, hi. My order is three days late now and nobody has told me anything. "
            "Where exactly is it?",
        ),
        Line("agent", "Let me look into that for you. What was in the order?"),
        Line("customer", "A rug and two cushions. The confirmation email promised Monday."),
        Line(
            "agent",
            "I have your order here. The rug came in late from our supplier. It left the "
            "warehouse this morning, and you'll have everything tomorrow before six.",
        ),
        Line("customer", "Right, tomorrow before six then. Cheers."),
        Line("agent", "Thanks for shopping with Harbor Home. Bye now."),
    ),
    Summary(
        reason="Order of a rug and two cushions is three days late with no news",
        actions=(
            "Explained the rug came late from the supplier",
            "Order left the warehouse this morning for delivery tomorrow before six",
        ),
        outcome="resolved",
    ),
)

# ----------------------------------------------------------------------------- damaged-on-arrival

D5 = _call(
    "drv-damaged-mirror",
    DAMAGED,
    OLIVER,
    Voice(PIPER, speed=165),
    Condition(codec="ulaw", snr_db=25),
    9105,
    (
        Line(
            "agent",
            "Hello and welcome to Harbor Home, you're through to Oliver. "
            "Calls are recorded for training and quality.",
        ),
        Line(
            "customer",
            "Good morning. The wall mirror I ordered was delivered an hour ago, and the glass is "
            "cracked right across the middle.",
        ),
        Line("agent", "I'm sorry about that. Would you like a replacement, or your money back?"),
        Line("customer", "A replacement, please. I still want the mirror, just not a broken one."),
        Line(
            "agent",
            "Of course. A new mirror goes out on Thursday, and the same driver takes the cracked "
            "one away. You don't need to pack it.",
        ),
        Line("customer", "That's easy enough, thank you."),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    Summary(
        reason="Wall mirror delivered today has its glass cracked across the middle",
        actions=(
            "Replacement mirror sent for Thursday",
            "The driver collects the cracked mirror, no packing needed",
        ),
        outcome="resolved",
    ),
)

D6 = _call(
    "drv-damaged-lamp",
    DAMAGED,
    JAMES,
    Voice("en-us+f4", speed=170, pitch=65, peak=0.45),
    Condition(codec="alaw", snr_db=20),
    9106,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Calls are recorded for training and quality. How can I help today?",
        ),
        Line(
            "customer",
            "Hey. I've just unboxed a floor lamp from you, and the metal shade is badly dented "
            "on one side.",
        ),
        Line("agent", "Sorry to hear that. Was the box itself damaged when it arrived?"),
        Line(
            "customer",
            "Yes, one corner was crushed in. I'd rather have a refund than wait for another one.",
        ),
        Line(
            "agent",
            "No problem. I've refunded the lamp in full, you'll see it in three to five days, "
            "and you can keep or recycle the damaged one.",
        ),
        Line("customer", "Oh, that's kind. Thanks for sorting it so quickly."),
        Line("agent", "Thank you for choosing Harbor Home. Bye now."),
    ),
    Summary(
        reason="Floor lamp arrived with its metal shade dented in a crushed box",
        actions=(
            "Full refund of the lamp issued, due in three to five days",
            "Customer can keep or recycle the damaged lamp",
        ),
        outcome="resolved",
    ),
)

D7 = _call(
    "drv-damaged-chair-leg",
    DAMAGED,
    DANIEL,
    Voice(PIPER, speed=155),
    Condition(codec="ulaw", snr_db=17),
    9107,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is Daniel. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Hi Daniel. We took delivery of six dining chairs yesterday, and one of them has a "
            "leg snapped clean off.",
        ),
        Line("agent", "I apologise for that. Could you email us a photo of the broken leg?"),
        Line(
            "customer",
            "Sure, I can do that this evening. I'd like a replacement chair rather than a refund.",
        ),
        Line(
            "agent",
            "Thanks. Once the photo is in, our claims team will arrange the new chair and email "
            "you a delivery date within two days.",
        ),
        Line("customer", "Great, look out for it later on. Goodbye then."),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    Summary(
        reason="One of six dining chairs delivered yesterday has a broken leg",
        actions=("Asked the customer to email a photo of the broken leg",),
        outcome="follow_up",
        follow_ups=(
            "Claims team to arrange a replacement chair once the photo arrives",
            "Delivery date emailed within two days",
        ),
    ),
)

D8 = _call(
    "drv-damaged-table-top",
    DAMAGED,
    JAMES,
    Voice("en-gb-scotland", speed=160, pitch=55, peak=0.45),
    Condition(codec="alaw", snr_db=16, layout="stereo-agent-right"),
    9108,
    (
        Line(
            "agent",
            "Harbor Home, you're speaking with James. "
            "Calls are recorded for training and quality. What can I do for you?",
        ),
        Line(
            "customer",
            "Hello there. Our new oak table arrived on Saturday, and the top is covered in deep "
            "scratches. It looks second hand.",
        ),
        Line(
            "agent",
            "I'm really sorry about that. Would you rather exchange it, or send it back for a "
            "refund?",
        ),
        Line("customer", "Send it back. I've lost faith in that one, to be honest."),
        Line(
            "agent",
            "Understood. I've booked a collection for next Wednesday, and the refund goes back "
            "to your card as soon as it's collected.",
        ),
        Line("customer", "Wednesday works. Thanks for your help."),
        Line("agent", "Thanks for shopping with Harbor Home. Take care."),
    ),
    Summary(
        reason="Oak table delivered on Saturday has a deeply scratched top",
        actions=(
            "Collection booked for next Wednesday",
            "Refund to the card once the table is collected",
        ),
        outcome="resolved",
    ),
)

# ----------------------------------------------------------------------------- double-charge

D9 = _call(
    "drv-double-charge-cabinet",
    DOUBLE,
    OLIVER,
    Voice(PIPER, speed=160),
    Condition(codec="ulaw", snr_db=21),
    9109,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, you're through to Oliver. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Hi, I'm hoping you can help. I've looked at my banking app, and you've taken the "
            "money for my order twice. Same amount, same day.",
        ),
        Line("agent", "Sorry about that. How much was each payment?"),
        Line("customer", "Two hundred and ten pounds each time, for a bedside cabinet."),
        Line(
            "agent",
            "I can see both. The second payment was a duplicate from our payment system, and "
            "I've refunded it now. It should reach your account in three to five working days.",
        ),
        Line("customer", "Good, that's a relief."),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    Summary(
        reason="Paid twice, two hundred and ten pounds each time, for one bedside cabinet",
        actions=("Duplicate payment refunded, due in three to five working days",),
        outcome="resolved",
    ),
)

D10 = _call(
    "drv-double-charge-paypal",
    DOUBLE,
    JAMES,
    Voice("en-us+m3", speed=150, pitch=45, peak=0.45),
    Condition(codec="alaw", snr_db=19),
    9110,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Hello, good afternoon. Something went wrong when I paid. PayPal shows two payments "
            "to Harbor Home for a single order of curtains.",
        ),
        Line("agent", "I'm sorry about that. Did the checkout page show an error when you paid?"),
        Line(
            "customer",
            "It froze, so I pressed pay again, but I only got one confirmation email.",
        ),
        Line(
            "agent",
            "That explains it. Only one order went through, so I've asked our payments team to "
            "cancel the extra PayPal payment. They'll email you when it's back, within two days.",
        ),
        Line("customer", "Okay. I'll keep an eye on my inbox."),
        Line("agent", "Thanks for shopping with Harbor Home. Bye now."),
    ),
    Summary(
        reason="PayPal took two payments for one curtain order after the checkout froze",
        actions=("Payments team asked to cancel the extra PayPal payment",),
        outcome="follow_up",
        follow_ups=("Payments team to email the customer within two days once it is returned",),
    ),
)

D11 = _call(
    "drv-double-charge-sofa-bed",
    DOUBLE,
    FIONA,
    Voice(PIPER, speed=170),
    Condition(codec="ulaw", snr_db=23),
    9111,
    (
        Line(
            "agent",
            "Good afternoon, thanks for calling Harbor Home, you're speaking with Fiona. "
            "This call is recorded for training and quality purposes.",
        ),
        Line(
            "customer",
            "Hi Fiona. I've been billed two times for the same sofa bed. "
            "My card statement has two identical charges on it.",
        ),
        Line(
            "agent",
            "I apologise for that. Are both charges showing as taken, or is one still pending?",
        ),
        Line(
            "customer",
            "Both have gone through. That's nearly nine hundred pounds out of my account.",
        ),
        Line(
            "agent",
            "I can see that. I've refunded the duplicate charge now, and emailed you a "
            "confirmation of the refund.",
        ),
        Line("customer", "Thank you. That's a weight off my mind."),
        Line("agent", "Thank you for choosing Harbor Home. Goodbye."),
    ),
    Summary(
        reason="Card charged twice for the same sofa bed, both payments taken",
        actions=("Duplicate charge refunded", "Refund confirmation emailed"),
        outcome="resolved",
    ),
)

# ----------------------------------------------------------------------------- discount-code

D12 = _call(
    "drv-discount-newsletter-code",
    DISCOUNT,
    DANIEL,
    Voice(PIPER, speed=160),
    Condition(codec="alaw", snr_db=20),
    9112,
    (
        Line(
            "agent",
            "Hello and welcome to Harbor Home, this is Daniel. "
            "Calls are recorded for training and quality.",
        ),
        Line(
            "customer",
            "Good afternoon, Daniel. I had a promo code from your newsletter for twenty percent "
            "off, but when I checked out it didn't take anything off the price.",
        ),
        Line("agent", "Sorry about that. What was the code you entered?"),
        Line("customer", "It was spring twenty. I bought a duvet and two pillows yesterday."),
        Line(
            "agent",
            "Thanks. That code should have worked on bedding, so I've refunded the twenty "
            "percent to your card. It'll show in a few days.",
        ),
        Line("customer", "Perfect, that's all I wanted."),
        Line("agent", "Thanks for shopping with Harbor Home. Goodbye."),
    ),
    Summary(
        reason="Newsletter promo code for twenty percent off was not applied at checkout",
        actions=("Twenty percent discount refunded to the card",),
        outcome="resolved",
    ),
)

D13 = _call(
    "drv-discount-code-invalid",
    DISCOUNT,
    JAMES,
    Voice("en-us+f3", speed=160, pitch=55, peak=0.45),
    Condition(codec="ulaw", snr_db=16),
    9113,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, this is James. "
            "Calls are recorded for training and quality. How can I help?",
        ),
        Line(
            "customer",
            "Yes, hello. I'm trying to order a bookcase, but your website keeps telling me my "
            "discount code is invalid.",
        ),
        Line("agent", "Sorry to hear that. Where did you get the code from?"),
        Line(
            "customer",
            "It was on a card that came with my last delivery. Fifteen percent off my next order.",
        ),
        Line(
            "agent",
            "Those codes only start working a week after the delivery. I've applied the "
            "fifteen percent to your basket myself, so you can check out now.",
        ),
        Line("customer", "Oh great, it's showing now. Thanks a lot."),
        Line("agent", "Thanks for shopping with Harbor Home. Bye now."),
    ),
    Summary(
        reason="Discount code from a card in the last delivery is rejected as invalid",
        actions=(
            "Explained the codes start working a week after delivery",
            "Fifteen percent discount applied to the basket by the agent",
        ),
        outcome="resolved",
    ),
)

D14 = _call(
    "drv-discount-voucher-ignored",
    DISCOUNT,
    OLIVER,
    Voice(PIPER, speed=150),
    Condition(codec="alaw", snr_db=24),
    9114,
    (
        Line(
            "agent",
            "Thanks for calling Harbor Home, you're through to Oliver. "
            "Just so you know, this call is being recorded.",
        ),
        Line(
            "customer",
            "Hi there. I paid for a garden bench last night, and the ten pound voucher code I "
            "typed in was just ignored. I paid full price.",
        ),
        Line("agent", "I apologise for that. Did the code show as accepted before you paid?"),
        Line("customer", "It said applied, with a green tick, but the total never changed."),
        Line(
            "agent",
            "I can see that. It's a fault on our checkout, so I've passed it to our web team, "
            "and I've refunded the ten pounds to your card today.",
        ),
        Line("customer", "Good. Thanks for fixing it."),
        Line("agent", "Thank you for choosing Harbor Home. Take care."),
    ),
    Summary(
        reason="Ten pound voucher code showed as applied but the garden bench was charged in full",
        actions=("Checkout fault passed to the web team", "Ten pounds refunded to the card"),
        outcome="resolved",
    ),
)

# in build order; each is spoken by a freshly seeded voice, so the order changes no call
DRIVER_CALLS: tuple[Call, ...] = (D1, D2, D3, D4, D5, D6, D7, D8, D9, D10, D11, D12, D13, D14)
