"""The callback an integration uses to post back into a channel (SPEC §2.6).

Each event carries a token bound to one integration and one channel, valid for an hour: 256
random bits, stored hashed (`service`). Posting through it (`routes`) shows the message as the
integration's and raises no event, so bots cannot loop.
"""
