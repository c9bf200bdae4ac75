"""Every way a relative reaches Vägvisaren, as Rasa input channels (credentials.yml names
them): the REST channel (rest.py), the web widget's socket.io channel (socketio.py, with
the widget's own routes in widget/), Telegram (telegram.py), and SMS and WhatsApp through
Twilio (twilio.py), with what the messaging channels share (messaging.py, rendering.py).

The messaging channels take the relative's real address (a Telegram chat id, a phone
number) only to answer: Rasa, the tracker store, the escalation store and the logs see a
keyed hash of it (bot.pseudonym.channel_sender_id). The address itself is kept for a while
(addresses.py: in memory, or encrypted and expiring in the shared Redis of several servers),
so that a person from the staff can write to the relative, and never written to disk.
"""
