import requests

API_KEY = 'your_api_key_here'
BASE_URL = 'https://api.buzzchat.app/v1'

headers = {
    'Authorization': f'Bearer {API_KEY}',
    'Content-Type': 'application/json'
}

def get_analytics(period='week'):
    response = requests.get(
        f'{BASE_URL}/analytics',
        headers=headers,
        params={'period': period}
    )
    return response.json()

def pick_winner(count=1):
    response = requests.post(
        f'{BASE_URL}/giveaway/pick-winner',
        headers=headers,
        json={'count': count}
    )
    return response.json()

# Get weekly analytics
stats = get_analytics('week')
print(f"Total messages this week: {stats['data']['totalMessages']}")

# Pick a giveaway winner
result = pick_winner()
print(f"Winner: {result['data']['winners'][0]}")
