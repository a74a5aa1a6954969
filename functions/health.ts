// Registration of the liveness route; the app's real API is registered beside it.
import { app } from '@azure/functions';

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'api/health',
  handler: () => Promise.resolve({ status: 200, jsonBody: { status: 'Healthy', service: 'pgkeep' } }),
});
