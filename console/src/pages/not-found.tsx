import { Shell } from './shell';

export function NotFound() {
  return (
    <Shell title="Page not found">
      <p>There is no console page at this address. <a href="/console/">Go to the console's start page</a>.</p>
    </Shell>
  );
}
