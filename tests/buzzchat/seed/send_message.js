const BUZZCHAT_API_KEY = 'your_api_key_here';

async function sendMessage(message) {
  const response = await fetch('https://api.buzzchat.app/v1/messages/send', {
    method: 'POST',
    headers: {
      'Authorization': `Bearer ${BUZZCHAT_API_KEY}`,
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({ message })
  });

  return response.json();
}

// Send a promotional message
sendMessage('Flash sale! 20% off everything for the next 30 minutes!')
  .then(result => console.log('Message sent:', result));
