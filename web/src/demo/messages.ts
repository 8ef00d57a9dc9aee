import { defineMessages } from '../i18n.js';

const en = {
  load: 'Load the demo shop',
  loading: 'Loading the demo shop: ten thousand contacts and a month of their history…',
  help: 'New here? Fill this workspace with a synthetic shop — contacts, a month of page views, carts and orders, score models, lifecycle stages, live segments, and two live journeys with their e-mails — to see the console at work.',
};

const it: typeof en = {
  load: 'Carica il negozio dimostrativo',
  loading: 'Caricamento del negozio dimostrativo: diecimila contatti e un mese della loro storia…',
  help: 'Prima volta? Riempi quest’area di lavoro con un negozio sintetico — contatti, un mese di pagine viste, carrelli e ordini, modelli di punteggio, fasi del ciclo di vita, segmenti dinamici e due percorsi attivi con le loro e-mail — per vedere la console all’opera.',
};

defineMessages('demo', { en, it });
