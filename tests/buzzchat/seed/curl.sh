# Get analytics
curl -X GET "https://api.buzzchat.app/v1/analytics?period=week" \
  -H "Authorization: Bearer YOUR_API_KEY"

# Send a message
curl -X POST "https://api.buzzchat.app/v1/messages/send" \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{"message": "Thanks for watching!"}'

# Pick a winner
curl -X POST "https://api.buzzchat.app/v1/giveaway/pick-winner" \
  -H "Authorization: Bearer YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{"count": 1}'
