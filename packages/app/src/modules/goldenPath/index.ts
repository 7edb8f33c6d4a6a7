export { goldenPathScaffolderModule } from './module';
