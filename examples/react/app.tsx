// A live product list and a notifications feed on hubcast, with the hooks of `hubcast/react`.
// Build: node examples/react/build.mjs, then open examples/react/index.html?gateway=http://127.0.0.1:8000
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { useChannel, useSSE } from 'hubcast/react';

interface Product {
  id: number;
  name: string;
  price: number;
  stock: number;
  version: number;
}
/** What a `format=message` stream's data is. */
interface Message<T> {
  event: string;
  channel: string | null;
  data: T;
}

const gateway = new URLSearchParams(location.search).get('gateway') ?? location.origin;
const stream = `${gateway}/realtime/events?channels=products&format=message`;

function ProductList() {
  const { lastEvent, state } = useSSE<Message<Product>>(stream);
  const [products, setProducts] = useState(new Map<number, Product>());
  useEffect(() => {
    fetch(`${gateway}/api/products`)
      .then((r) => r.json())
      .then((list: Product[]) => setProducts((old) => new Map([...list.map((p) => [p.id, p] as const), ...old])));
  }, []);
  useEffect(() => {
    const m = lastEvent?.data;
    if (m?.event !== 'product.updated') return;
    setProducts((old) => {
      const known = old.get(m.data.id);
      if (known !== undefined && known.version >= m.data.version) return old;
      return new Map(old).set(m.data.id, m.data);
    });
  }, [lastEvent]);
  return (
    <section>
      <h2>
        Products <small data-testid="sse-state">{state}</small>
      </h2>
      <table>
        <tbody id="products">
          {[...products.values()].map((p) => (
            <tr key={p.id} data-version={p.version}>
              <td>{p.name}</td>
              <td>{p.price.toFixed(2)}</td>
              <td>{p.stock}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A second reader of the same stream: shares the one connection with ProductList. */
function LastChange() {
  const { data } = useSSE<Message<Product>>(stream);
  const product = data?.event === 'product.updated' ? data.data : null;
  return (
    <p id="last-change">
      {product === null ? 'waiting for a change…' : `${product.name} is now ${product.price.toFixed(2)}`}
    </p>
  );
}

function Notifications() {
  const { events, state } = useChannel<{ text: string }>('notifications', {
    url: `${gateway.replace(/^http/, 'ws')}/realtime/ws`,
  });
  return (
    <section>
      <h2>
        Notifications <small data-testid="ws-state">{state}</small>
      </h2>
      <ul id="notifications">
        {events.map((e) => (
          <li key={e.id}>{e.data.text}</li>
        ))}
      </ul>
    </section>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <LastChange />
    <Notifications />
    <ProductList />
  </StrictMode>,
);
