import { render } from 'preact';
import { LocationProvider, Route, Router } from 'preact-iso';
import { Auth0Page } from './pages/auth0';
import { Home } from './pages/home';
import { NotFound } from './pages/not-found';
import { Setup } from './pages/setup';
import { TenantPage } from './pages/tenant';
import { Tenants } from './pages/tenants';
import './styles.css';

function App() {
  return (
    <LocationProvider scope="/console">
      <Router>
        <Route path="/console/" component={Home} />
        <Route path="/console/tenants" component={Tenants} />
        <Route path="/console/tenants/:name" component={TenantPage} />
        <Route path="/console/setup" component={Setup} />
        <Route path="/console/auth0" component={Auth0Page} />
        <Route default component={NotFound} />
      </Router>
    </LocationProvider>
  );
}

render(<App />, document.getElementById('app')!);
