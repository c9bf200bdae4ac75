"""Messaging channels: Telegram, and SMS and WhatsApp through Twilio.

Both take the relative's real address (a Telegram chat id, a phone number) only to answer:
Rasa, the tracker store, the escalation store and the logs see a keyed hash of it
(bot.pseudonym.channel_sender_id). The address itself is kept in memory for a while
(addresses.py), so that a person from the staff can write to the relative, and never
written anywhere.
"""
