import { createApp } from 'vue';
import App from './App.vue';
import { connectWorkbench } from './api/transport';
import './styles.css';

createApp(App, { api: connectWorkbench() }).mount('#app');
